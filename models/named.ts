// One view over both whole models (Detector, TracingModel) for training, checkpoints and the page: trainable
// parameters and buffers under their canonical names (models/io/mapping.ts), BatchNorm counters, the model
// configuration, and host copies of every tensor for a safetensors file that Detector.open / TracingModel.open
// load back exactly.
import type { Tensor } from '../engine/index.ts';
import type { HostTensor } from './io/dtypes.ts';
import type { ModelConfig } from './config.ts';
import { Detector } from './detector.ts';
import { setBatchCounts, type Params } from './nes2net/params.ts';
import { ReferenceTracer } from './tracer/reference.ts';
import type { TracingModel } from './tracer/tracing-model.ts';

export type SpoofModel = Detector | TracingModel;

function head(m: SpoofModel): { params: Params } {
  return m instanceof Detector ? m.backend : m.head;
}

/** The configuration a checkpoint of `m` carries (META_CONFIG). */
export function modelConfig(m: SpoofModel): ModelConfig {
  if (m instanceof Detector) return { arch: 'xlsr-nes2net', xlsr: m.xlsr.config, nes2net: m.backend.config };
  if (m.head instanceof ReferenceTracer) return { arch: 'xlsr-tracer', xlsr: m.xlsr.config, tracer: m.head.config };
  return { arch: 'xlsr-nes2net', xlsr: m.xlsr.config, nes2net: m.head.config };
}

/** Every float tensor (parameters and running statistics) by canonical name, front-end first. */
export function namedTensors(m: SpoofModel): Map<string, Tensor> {
  return new Map([...m.xlsr.params.tensors, ...head(m).params.tensors]);
}

/** Trainable parameters (requiresGrad) by canonical name. */
export function namedParameters(m: SpoofModel): Map<string, Tensor> {
  return new Map([...namedTensors(m)].filter(([, t]) => t.requiresGrad));
}

/** True for parameters of the XLS-R front-end. */
export const isFrontEnd = (name: string): boolean => name.startsWith('xlsr.');

/** Norm weights and every bias: the parameters that conventionally get no weight decay. */
export const isNormOrBias = (name: string): boolean => /(\.bias|norm\d*\.weight|\.bn\d?\.weight|\.bns\.\d+\.weight|^nes2net\.bn\.weight|layer_norm\.weight)$/.test(name);

export function batchCounters(m: SpoofModel): Map<string, number> {
  return head(m).params.batchCounts();
}

export function setBatchCounters(m: SpoofModel, counts: ReadonlyMap<string, number>): void {
  setBatchCounts(head(m).params, counts);
}

/** Host copies of every tensor of `m` (f32, counters as I64), ready for a safetensors file. */
export async function modelTensors(m: SpoofModel): Promise<HostTensor[]> {
  const out: HostTensor[] = [];
  for (const [name, t] of namedTensors(m)) out.push({ name, dtype: 'F32', shape: [...t.shape], data: (await t.data()) as Float32Array });
  for (const [name, n] of batchCounters(m)) out.push({ name, dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(n)) });
  return out;
}
