// An XlsrModel from any checkpoint models/io reads (fairseq .pt, Hugging Face .bin/.safetensors, spoofscan
// .safetensors, MultiAPI-Spoof .pth with `ssl_model.model.*`): the configuration comes from the file.
import type { ByteSource } from '../io/byte-source.ts';
import { loadWeights, type LoadedWeights, type LoadOptions } from '../io/load.ts';
import { buildFromWeights, type BuildOptions, type WeightsBuildOptions } from '../model-init.ts';
import { xlsrParams } from './config.ts';
import { XlsrModel } from './model.ts';

/** The XLS-R of loaded weights, every parameter trainable (as the recipes fine-tune it), on `opts.engine`. */
export function xlsrFromWeights(w: Pick<LoadedWeights, 'get' | 'file' | 'config'>, opts: WeightsBuildOptions = {}): Promise<XlsrModel> {
  return buildFromWeights(w, xlsrParams(w.config.xlsr), (source) => XlsrModel.fromConfig(w.config.xlsr, source, opts), opts);
}

export async function loadXlsr(source: ByteSource, opts: LoadOptions = {}, build: WeightsBuildOptions = {}): Promise<{ model: XlsrModel; weights: LoadedWeights }> {
  const weights = await loadWeights(source, opts);
  return { model: await xlsrFromWeights(weights, build), weights };
}

/** The front-end of a whole-model checkpoint paired with its already-built head by `make`; the head is freed if
 *  building XLS-R fails. */
export async function withXlsrFrontEnd<H extends { dispose(): void }, M>(weights: LoadedWeights, head: H, make: (xlsr: XlsrModel, head: H) => M, opts: BuildOptions = {}): Promise<M> {
  try {
    return make(await xlsrFromWeights(weights, opts), head);
  } catch (e) {
    head.dispose();
    throw e;
  }
}
