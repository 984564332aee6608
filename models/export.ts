// A model's weights as one spoofscan safetensors file, in memory (browser-safe; the Node CLI writes the same bytes
// to disk): every tensor under its canonical name (models/io/names.ts, in modelParams order), the configuration
// under spoofscan.config so the file loads without guessing, and what the model is (task, classes, τ,
// calibration, provenance; models/model-info.ts). Reading it back gives the same model bit for bit.
import { encodeSafetensors, META_CONFIG, modelParams, type ModelConfig, type Tensor as IoTensor } from './io/index.ts';
import type { Detector } from './detector.ts';
import { modelInfoMetadata, type ModelInfo } from './model-info.ts';
import type { HostValue } from './nes2net/params.ts';
import { ReferenceTracer } from './tracer/reference.ts';
import type { TracingModel } from './tracer/tracing-model.ts';

/** The model configuration of a detector or tracing model (what spoofscan.config stores). */
export function configOf(model: Detector | TracingModel): ModelConfig {
  const xlsr = model.xlsr.config;
  if ('backend' in model) return { arch: 'xlsr-nes2net', xlsr, nes2net: model.backend.config };
  const head = model.head;
  return head instanceof ReferenceTracer ? { arch: 'xlsr-tracer', xlsr, tracer: head.config } : { arch: 'xlsr-nes2net', xlsr, nes2net: head.config };
}

/** Host copies of every tensor of the model, by canonical name. */
async function hostValues(model: Detector | TracingModel): Promise<Map<string, HostValue>> {
  const out = new Map<string, HostValue>();
  for (const [name, t] of model.xlsr.params.tensors) out.set(name, (await t.data()) as Float32Array);
  const head = 'backend' in model ? model.backend : model.head;
  for (const [name, v] of await head.params.toHost()) out.set(name, v);
  return out;
}

/** The safetensors bytes of `model` with its configuration and `info` in the metadata. */
export async function encodeModel(model: Detector | TracingModel, info: ModelInfo = {}): Promise<Uint8Array> {
  const config = configOf(model);
  const values = await hostValues(model);
  const tensors: IoTensor[] = [];
  for (const spec of modelParams(config)) {
    const v = values.get(spec.name);
    if (v === undefined) {
      if (spec.optional) continue;
      throw new Error(`encodeModel: the model has no tensor ${spec.name}`);
    }
    if (spec.dtype === 'int64') tensors.push({ name: spec.name, dtype: 'I64', shape: spec.shape, data: BigInt64Array.of(BigInt(typeof v === 'number' ? v : 0)) });
    else if (v instanceof Float32Array) tensors.push({ name: spec.name, dtype: 'F32', shape: spec.shape, data: v });
    else throw new Error(`encodeModel: ${spec.name} is not a float tensor`);
  }
  return encodeSafetensors(tensors, { [META_CONFIG]: JSON.stringify(config), ...modelInfoMetadata(info) });
}
