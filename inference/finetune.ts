// Fine-tuning a detector's back-end head on a few labelled clips, with the XLS-R front-end frozen: the page runs it
// in its worker and Node runs the very same code, so both compute the same losses from the same seed and clips.
// Recipe (MultiAPI-Spoof): clips cropped to 64,600 samples ('repeat-first'), weighted cross-entropy with class
// weights [0.1, 0.9] (spoof, bona fide), Adam. Every step sees every clip (one batch); the back-end trains in train
// mode (BatchNorm batch statistics, dropout seeded by (seed, step), so a run is a pure function of its inputs).
// Since the front-end is frozen and in eval mode, its features are computed once and reused by every step.
// Browser-safe: no Node imports.
import { backward, keep, noGrad, tensor, tidy, type Tensor } from '../engine/index.ts';
import { concat, crossEntropy } from '../kernels/index.ts';
import type { Detector } from '../models/detector.ts';
import type { ModelInfo } from '../models/model-info.ts';
import { Adam } from '../nn/optim.ts';
import { cropPad, CROP_LENGTH } from '../train/data/crop.ts';

/** Detector classes: 0 = spoof, 1 = bona fide (score = logit 1). */
export type DetectLabel = 0 | 1;

export interface FineTuneClip {
  name: string;
  /** 16 kHz mono samples (as loadAudio gives them). */
  samples: Float32Array;
  label: DetectLabel;
}

export interface FineTuneOptions {
  /** Adam learning rate (default 1e-3: only the head trains, for a few steps). */
  lr?: number;
  /** Adam weight decay (L2 added to the gradient; the recipe's 1e-4). */
  weightDecay?: number;
  /** Dropout seed (default 1234). */
  seed?: number;
  /** Class weights [spoof, bona fide] of the cross-entropy (default the recipe's [0.1, 0.9]). */
  classWeights?: [number, number];
  /** Crop length in samples (default 64,600). */
  cropLength?: number;
}

export const FINETUNE_DEFAULTS: Required<FineTuneOptions> = { lr: 1e-3, weightDecay: 1e-4, seed: 1234, classWeights: [0.1, 0.9], cropLength: CROP_LENGTH };

export class HeadFineTuner {
  /** Steps taken so far. */
  steps = 0;
  readonly losses: number[] = [];
  private readonly optimizer: Adam;

  private constructor(
    readonly detector: Detector,
    private readonly features: Tensor,
    readonly labels: DetectLabel[],
    readonly options: Required<FineTuneOptions>,
  ) {
    this.optimizer = new Adam(detector.backend.namedParameters({ prefix: 'nes2net.' }), { lr: options.lr, weightDecay: options.weightDecay });
  }

  /**
   * Freezes the detector's XLS-R and computes its eval-mode features of every clip (cropped), one clip at a time.
   * The detector is trained in place; `onClip` reports progress.
   */
  static async prepare(detector: Detector, clips: readonly FineTuneClip[], opts: FineTuneOptions = {}, onClip?: (done: number, total: number) => void): Promise<HeadFineTuner> {
    const o = { ...FINETUNE_DEFAULTS, ...opts };
    if (detector.backend.config.nOut !== 2) throw new Error(`fine-tuning needs a 2-class detector; this back-end has ${detector.backend.config.nOut} outputs`);
    if (!clips.length) throw new Error('fine-tuning needs at least one labelled clip');
    for (const c of clips) if (c.label !== 0 && c.label !== 1) throw new Error(`${c.name}: label ${String(c.label)} is not 0 (spoof) or 1 (bona fide)`);
    if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new Error(`learning rate ${o.lr} must be a positive number`);
    detector.xlsr.setFrozen('all');
    const parts: Tensor[] = [];
    try {
      for (const [i, c] of clips.entries()) {
        const wav = tensor(cropPad(c.samples, 'repeat-first', o.cropLength), [1, o.cropLength], 'f32', detector.engine);
        try {
          parts.push(keep(noGrad(() => detector.xlsr.forward(wav).x)));
          await parts[parts.length - 1].data(); // one clip at a time on the GPU
        } finally {
          wav.dispose();
        }
        onClip?.(i + 1, clips.length);
      }
      const features = parts.length === 1 ? parts[0] : keep(noGrad(() => concat(parts, 0)));
      if (parts.length > 1) for (const p of parts) p.dispose();
      return new HeadFineTuner(detector, features, clips.map((c) => c.label), o);
    } catch (e) {
      for (const p of parts) p.dispose();
      throw e;
    }
  }

  /** One Adam step on every clip; returns the loss before the update. */
  async step(): Promise<number> {
    const { seed, classWeights } = this.options;
    const step = this.steps;
    const loss = tidy(() => {
      const { logits } = this.detector.backend.forward(this.features, { training: true, seed, step });
      const l = crossEntropy(logits, this.labels, { classWeights });
      backward(l);
      return l;
    });
    try {
      this.optimizer.update();
      this.optimizer.zeroGrad();
      const value = await loss.item();
      this.steps++;
      this.losses.push(value);
      return value;
    } finally {
      loss.dispose();
    }
  }

  /** Frees the cached features and the optimizer state (the detector stays, with its trained head). */
  dispose(): void {
    this.features.dispose();
    this.optimizer.dispose();
  }
}

/** What a fine-tuned checkpoint says about itself: the base model's task and classes, trained provenance. */
export function fineTunedInfo(base: ModelInfo, run: { steps: number; clips: number; seed: number; note?: string }): ModelInfo {
  return {
    task: 'detect',
    classes: base.classes ?? ['spoof', 'bonafide'],
    // The head moved: the base model's calibration no longer applies.
    provenance: {
      trained: true,
      note: run.note ?? 'fine-tuned in the browser',
      steps: run.steps,
      seed: run.seed,
      corpus: `${run.clips} user clip(s)`,
    },
  };
}
