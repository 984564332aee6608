// A whole API-tracing model, waveform → class probabilities, as one object (spec model-nes2net-la.md §12): XLS-R
// followed by either the reference head (raw outputs of every XLS-R layer → MHA → mean → SELU MLP) or the
// Nes2Net-LA tracer (the back-end with an N-class head on XLS-R's final features). Train/eval modes reach both
// parts and backward runs end to end, like the detector.
import { noGrad, tidy, type Tensor } from '../../engine/index.ts';
import { Module } from '../../nn/index.ts';
import type { ByteSource } from '../io/byte-source.ts';
import { loadWeights, type LoadedWeights, type LoadOptions } from '../io/load.ts';
import { Nes2Net } from '../nes2net/nes2net.ts';
import { XlsrModel } from '../xlsr/model.ts';
import { withXlsrFrontEnd } from '../xlsr/load.ts';
import type { ModelConfig } from '../config.ts';
import type { BuildOptions, ModelInit } from '../model-init.ts';
import { DEFAULT_OPEN_SET_THRESHOLD, openSetDecisions, type TracePrediction } from './open-set.ts';
import { ReferenceTracer } from './reference.ts';

export interface TracingForwardOptions {
  /** Train mode: XLS-R dropouts/layerdrop, and for the Nes2Net head BatchNorm batch statistics and dropout. */
  training?: boolean;
  seed?: number;
  step?: number;
}

/** Parts registered as `xlsr` and `tracer` (reference head) or `nes2net`: the canonical state names. */
export class TracingModel extends Module {
  readonly xlsr: XlsrModel;
  readonly head: ReferenceTracer | Nes2Net;

  constructor(xlsr: XlsrModel, head: ReferenceTracer | Nes2Net) {
    super();
    const width = head instanceof ReferenceTracer ? head.dModel : head.config.inputDim;
    if (width !== xlsr.config.dModel) throw new Error(`TracingModel: XLS-R width ${xlsr.config.dModel} does not match the head input ${width}`);
    this.xlsr = this.register('xlsr', xlsr);
    this.head = this.register(head instanceof ReferenceTracer ? 'tracer' : 'nes2net', head);
  }

  /** A tracing model of `config` ('xlsr-tracer', or 'xlsr-nes2net' with an N-class head), random from seeds or
   *  from values under canonical names, on `opts.engine` (default: the current engine). */
  static fromConfig(config: ModelConfig, init: ModelInit = 0, opts: BuildOptions = {}): TracingModel {
    const headInit = typeof init === 'number' ? init + 1 : init;
    const xlsr = XlsrModel.fromConfig(config.xlsr, init, opts);
    try {
      if (config.tracer) return new TracingModel(xlsr, ReferenceTracer.fromConfig(config.tracer, config.xlsr.dModel, headInit, opts));
      if (config.nes2net) return new TracingModel(xlsr, Nes2Net.fromConfig(config.nes2net, headInit, opts));
      throw new Error(`TracingModel: configuration ${config.arch} has no tracing head`);
    } catch (e) {
      xlsr.dispose();
      throw e;
    }
  }

  /** Seen classes (the "unseen" label is this number). */
  get classes(): number {
    return this.head instanceof ReferenceTracer ? this.head.config.classes : this.head.config.nOut;
  }

  /** From loaded weights: arch 'xlsr-tracer' (reference head) or 'xlsr-nes2net' (Nes2Net-LA tracer, N outputs). */
  static async load(weights: LoadedWeights, opts: BuildOptions = {}): Promise<TracingModel> {
    const arch = weights.config.arch;
    if (arch === 'xlsr') throw new Error(`${weights.file}: holds only XLS-R; a tracing model needs a tracing head (reference tracer or Nes2Net)`);
    const head = arch === 'xlsr-tracer' ? await ReferenceTracer.load(weights, opts) : await Nes2Net.load(weights, opts);
    return withXlsrFrontEnd(weights, head, (xlsr, h) => new TracingModel(xlsr, h), opts);
  }

  /** Opens any checkpoint models/io reads; the load report is in `weights.report`. */
  static async open(source: ByteSource, opts: LoadOptions & BuildOptions = {}): Promise<{ model: TracingModel; weights: LoadedWeights }> {
    const weights = await loadWeights(source, opts);
    return { model: await TracingModel.load(weights, opts), weights };
  }

  /** Waveforms [B, L] (raw 16 kHz samples, no normalisation) → logits [B, classes]. */
  forward(wav: Tensor, opts: TracingForwardOptions = {}): Tensor {
    const { training = this.training, seed = 0, step = 0 } = opts;
    const head = this.head;
    return tidy(() => {
      if (head instanceof ReferenceTracer) {
        // Every layer's raw output; a layer skipped by layerdrop contributes its input (spec model-nes2net-la.md §12).
        const { layers } = this.xlsr.forward(wav, { training, seed, step, outputLayers: true });
        return head.forward(layers!).logits;
      }
      const { x } = this.xlsr.forward(wav, { training, seed, step });
      return head.forward(x, { training, seed, step }).logits;
    });
  }

  /** Eval-mode probabilities and open-set decisions (no graph recorded). */
  async predict(wav: Tensor, threshold = DEFAULT_OPEN_SET_THRESHOLD): Promise<TracePrediction[]> {
    const logits = noGrad(() => this.forward(wav));
    try {
      return openSetDecisions(await logits.data(), this.classes, threshold);
    } finally {
      logits.dispose();
    }
  }

  trainable(): Tensor[] {
    return [...this.trainableParameters().values()];
  }
}
