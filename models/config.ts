// A whole model's configuration (XLS-R plus an optional Nes2Net or tracing head) and its full parameter list.
// Each part's config lives with its model; this module combines them.
import type { ParamSpec } from './param-spec.ts';
import { nes2netParams, type Nes2NetConfig } from './nes2net/config.ts';
import { tracerParams, type TracerConfig } from './tracer/config.ts';
import { xlsrParams, type XlsrConfig } from './xlsr/config.ts';

export interface ModelConfig {
  arch: 'xlsr' | 'xlsr-nes2net' | 'xlsr-tracer';
  xlsr: XlsrConfig;
  nes2net?: Nes2NetConfig;
  tracer?: TracerConfig;
}

/** Every tensor a model of this configuration has, in a fixed order. */
export function modelParams(c: ModelConfig): ParamSpec[] {
  const out = xlsrParams(c.xlsr);
  if (c.nes2net) out.push(...nes2netParams(c.nes2net));
  if (c.tracer) out.push(...tracerParams(c.tracer, c.xlsr.dModel));
  return out;
}

