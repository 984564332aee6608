// The two whole models (Detector, TracingModel) as one type for training, checkpoints and the page: the
// configuration a checkpoint carries and the optimizer parameter groups. Names, state dicts and freezing are the
// Module methods (nn/module.ts); the names are canonical (models/io/mapping.ts).
import type { Tensor } from '../engine/index.ts';
import type { ModelConfig } from './config.ts';
import { Detector } from './detector.ts';
import { ReferenceTracer } from './tracer/reference.ts';
import type { TracingModel } from './tracer/tracing-model.ts';

export type SpoofModel = Detector | TracingModel;

/** The configuration a checkpoint of `m` carries (META_CONFIG). */
export function modelConfig(m: SpoofModel): ModelConfig {
  if (m instanceof Detector) return { arch: 'xlsr-nes2net', xlsr: m.xlsr.config, nes2net: m.backend.config };
  if (m.head instanceof ReferenceTracer) return { arch: 'xlsr-tracer', xlsr: m.xlsr.config, tracer: m.head.config };
  return { arch: 'xlsr-nes2net', xlsr: m.xlsr.config, nes2net: m.head.config };
}

/** True for parameters of the XLS-R front-end. */
export const isFrontEnd = (name: string): boolean => name.startsWith('xlsr.');

/** Norm weights and every bias: the parameters that conventionally get no weight decay. */
export const isNormOrBias = (name: string): boolean => /(\.bias|norm\d*\.weight|\.bn\d?\.weight|\.bns\.\d+\.weight|^nes2net\.bn\.weight|layer_norm\.weight)$/.test(name);

/** One optimizer's share of the trainable parameters. */
export interface ParamGroup {
  /** 'front-end' or 'head', with ' (no decay)' when weight decay is off for it. */
  name: string;
  frontEnd: boolean;
  decay: boolean;
  params: Map<string, Tensor>;
}

/** Trainable parameters split into front-end / head × decay / no decay (norms and biases, when asked), in
 *  parameter order. */
export function parameterGroups(m: SpoofModel, opts: { noDecayNormBias: boolean }): ParamGroup[] {
  const groups = new Map<string, ParamGroup>();
  for (const [name, p] of m.trainableParameters()) {
    const frontEnd = isFrontEnd(name);
    const decay = !(opts.noDecayNormBias && isNormOrBias(name));
    const key = `${frontEnd ? 'front-end' : 'head'}${decay ? '' : ' (no decay)'}`;
    if (!groups.has(key)) groups.set(key, { name: key, frontEnd, decay, params: new Map() });
    groups.get(key)!.params.set(name, p);
  }
  return [...groups.values()];
}
