// A model's weights as one spoofscan safetensors file, in memory (browser-safe; the Node CLI and training write
// the same tensors to disk): every tensor under its canonical name (Module.stateDict, nn/module.ts), the configuration under
// spoofscan.config so the file loads without guessing, and what the model is (task, classes, τ, calibration,
// provenance; models/model-info.ts). Reading it back gives the same model bit for bit.
import { encodeSafetensors, META_CONFIG } from './io/index.ts';
import { modelInfoMetadata, type ModelInfo } from './model-info.ts';
import { modelConfig, type SpoofModel } from './spoof-model.ts';

/** The safetensors bytes of `model` with its configuration and `info` in the metadata. */
export async function encodeModel(model: SpoofModel, info: ModelInfo = {}): Promise<Uint8Array> {
  return encodeSafetensors(await model.stateDict(), { [META_CONFIG]: JSON.stringify(modelConfig(model)), ...modelInfoMetadata(info) });
}
