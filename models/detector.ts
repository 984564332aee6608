// The full anti-spoofing detector, XLS-R → Nes2Net-LA (or Nes2Net-X), as one model (spec model-nes2net-la.md §1):
// raw 16 kHz waveform [B, L] → XLS-R final-LN features [B, T, D] → back-end logits [B, n_out];
// score = logit of class 1 (bona fide). Train/eval modes reach both parts; backward runs end to end.
// Loads the MultiAPI-Spoof checkpoint (`module.` prefixes stripped, unused `global_attn.*` skipped on purpose)
// and spoofscan safetensors through models/io.
import { noGrad, tidy, type Tensor } from '../engine/index.ts';
import { Module } from '../nn/index.ts';
import type { ByteSource } from './io/byte-source.ts';
import { loadWeights, type LoadedWeights, type LoadOptions } from './io/load.ts';
import { Nes2Net, scoresFromLogits, type Nes2NetStages } from './nes2net/nes2net.ts';
import { XlsrModel } from './xlsr/model.ts';
import { withXlsrFrontEnd } from './xlsr/load.ts';
import type { ModelConfig } from './config.ts';
import type { BuildOptions, ModelInit } from './model-init.ts';

export interface DetectorForwardOptions {
  /** Train mode for both parts (XLS-R dropouts/layerdrop, back-end BatchNorm batch statistics and dropout). */
  training?: boolean;
  /** Dropout randomness: a call is a pure function of (seed, step); each part derives per-layer seeds. */
  seed?: number;
  step?: number;
  /** Also return the back-end's per-stage activations. */
  stages?: boolean;
}

export interface DetectorOutput {
  /** XLS-R output after its final LayerNorm, [B, T, D]. */
  features: Tensor;
  logits: Tensor;
  stages?: Nes2NetStages;
}

/** Parts registered as `xlsr` and `nes2net`, so state names are the canonical ones (models/io/mapping.ts). */
export class Detector extends Module {
  readonly xlsr: XlsrModel;
  readonly backend: Nes2Net;

  constructor(xlsr: XlsrModel, backend: Nes2Net) {
    super();
    if (xlsr.config.dModel !== backend.config.inputDim) {
      throw new Error(`Detector: XLS-R width ${xlsr.config.dModel} does not match the back-end input ${backend.config.inputDim}`);
    }
    this.xlsr = this.register('xlsr', xlsr);
    this.backend = this.register('nes2net', backend);
  }

  /** A detector of `config` (arch 'xlsr-nes2net'), random from seeds or from values under canonical names, on
   *  `opts.engine` (default: the current engine). */
  static fromConfig(config: ModelConfig, init: ModelInit = 0, opts: BuildOptions = {}): Detector {
    if (!config.nes2net) throw new Error(`Detector: configuration ${config.arch} has no Nes2Net back-end`);
    const xlsr = XlsrModel.fromConfig(config.xlsr, init, opts);
    try {
      return new Detector(xlsr, Nes2Net.fromConfig(config.nes2net, typeof init === 'number' ? init + 1 : init, opts));
    } catch (e) {
      xlsr.dispose();
      throw e;
    }
  }

  /** From loaded weights holding both parts (arch 'xlsr-nes2net'), on `opts.engine`. */
  static async load(weights: LoadedWeights, opts: BuildOptions = {}): Promise<Detector> {
    if (!weights.config.nes2net) throw new Error(`${weights.file}: holds no Nes2Net back-end (arch ${weights.config.arch}); a detector needs XLS-R + Nes2Net weights`);
    return withXlsrFrontEnd(weights, await Nes2Net.load(weights, opts), (xlsr, backend) => new Detector(xlsr, backend), opts);
  }

  /** Opens any checkpoint models/io reads and builds the detector (on `opts.engine`); the load report is in
   *  `weights.report`. */
  static async open(source: ByteSource, opts: LoadOptions & BuildOptions = {}): Promise<{ detector: Detector; weights: LoadedWeights }> {
    const weights = await loadWeights(source, opts);
    return { detector: await Detector.load(weights, opts), weights };
  }

  /** Waveforms [B, L] (raw samples in [−1, 1], no normalisation) → features and logits. */
  forward(wav: Tensor, opts: DetectorForwardOptions = {}): DetectorOutput {
    const { training = this.training, seed = 0, step = 0 } = opts;
    return tidy(() => {
      const { x } = this.xlsr.forward(wav, { training, seed, step });
      const { logits, stages } = this.backend.forward(x, { training, seed, step, stages: opts.stages });
      return stages ? { features: x, logits, stages } : { features: x, logits };
    });
  }

  /** Eval-mode logits [B, n_out] and scores (logit of class 1) for a batch, without recording a graph. */
  async score(wav: Tensor): Promise<{ logits: number[][]; scores: number[] }> {
    const logits = noGrad(() => tidy(() => this.forward(wav).logits));
    try {
      const data = await logits.data();
      const n = this.backend.config.nOut;
      const rows: number[][] = [];
      for (let i = 0; i < data.length; i += n) rows.push(Array.from(data.subarray(i, i + n)));
      return { logits: rows, scores: scoresFromLogits(data, n) };
    } finally {
      logits.dispose();
    }
  }

  /** Every trainable tensor of both parts. */
  trainable(): Tensor[] {
    return [...this.trainableParameters().values()];
  }

  /** Parameter counts of the parts (frozen ones included). */
  partCounts(): { xlsr: number; backend: number } {
    return { xlsr: this.xlsr.parameterCount(), backend: this.backend.parameterCount() };
  }
}
