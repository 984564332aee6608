// An XlsrModel from any checkpoint models/io reads (fairseq .pt, Hugging Face .bin/.safetensors, spoofscan
// .safetensors, MultiAPI-Spoof .pth with `ssl_model.model.*`): the configuration comes from the file.
import type { ByteSource } from '../io/byte-source.ts';
import { loadWeights, type LoadedWeights, type LoadOptions } from '../io/load.ts';
import { XlsrModel } from './model.ts';
import { paramsFromWeights } from './params.ts';

export async function loadXlsr(source: ByteSource, opts: LoadOptions = {}, onTensor?: (name: string) => void): Promise<{ model: XlsrModel; weights: LoadedWeights }> {
  const weights = await loadWeights(source, opts);
  return { model: new XlsrModel(await paramsFromWeights(weights, onTensor)), weights };
}

/**
 * The fine-tuning front-end of a whole-model checkpoint (every XLS-R parameter trainable, as the recipes
 * fine-tune it), paired with its already-built head by `make`; the head is freed if building XLS-R fails.
 */
export async function withXlsrFrontEnd<H extends { dispose(): void }, M>(weights: LoadedWeights, head: H, make: (xlsr: XlsrModel, head: H) => M): Promise<M> {
  try {
    return make(new XlsrModel(await paramsFromWeights(weights)).freeze('none'), head);
  } catch (e) {
    head.dispose();
    throw e;
  }
}
