// The training loop, top to bottom (browser-safe: files come through a `RunStore` and an ItemSource).
//
//   for each epoch from the saved position:
//     for each micro-batch of the epoch's order (a new shuffle from (seed, epoch)):
//       forward in train mode (dropout seeded by (seed, micro-batch counter)) → weighted CE / accumulate → backward
//       every `accumulate` micro-batches: check the loss and gradient norm are finite, clip, set the lr, update
//       every `checkpointEvery` steps, on Ctrl-C, at maxSteps: write the whole state (exact resume)
//     epoch end: score dev with the whole-utterance policy, metrics, select on dev only, early stop, state
//
// Everything that decides the numbers (order, crops, RawBoost, dropout) is a pure function of (seed, epoch,
// position, step), so a run resumed from any saved state is bit-identical to one that never stopped.
import { backward, tensor, tidy, noGrad, type Tensor } from '../engine/index.ts';
import { add, assign, crossEntropy, mul, sqrt, sum } from '../kernels/index.ts';
import { Detector } from '../models/detector.ts';
import type { HostTensor as IoTensor } from '../models/io/dtypes.ts';
import { modelConfig, parameterGroups, type SpoofModel } from '../models/spoof-model.ts';
import { modelInfoMetadata as metadataOf, type ModelInfo, type Provenance } from '../models/model-info.ts';
import { learningRate, type TrainConfig } from './config.ts';
import type { AudioReader } from './data/decode.ts';
import type { DataLoader } from './data/loader.ts';
import type { TrialRecord } from './data/protocols.ts';
import { detectionResult, scoreList, tracingResult, type DetectionResult, type ScoredTrial, type TracingResult } from './evaluate.ts';
import { Adam, AdamW, type OptimizerState } from '../nn/optim.ts';

export interface StepRecord {
  type: 'step';
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Wall-clock fields (differ between runs; everything else is reproducible). */
  clipsPerSec: number;
  elapsed: number;
}

export interface EpochRecord {
  type: 'epoch';
  epoch: number;
  step: number;
  /** Mean training loss over the epoch's steps. */
  trainLoss: number;
  /** The selection metric: dev EER (detect, lower is better) or dev macro-F1 (trace, higher is better). */
  metric: number;
  metricName: 'eer' | 'macroF1';
  best: boolean;
  dev: Record<string, number>;
  perGroup?: Record<string, number>;
  elapsed: number;
}

export type LogRecord = StepRecord | EpochRecord;

/** Where the loop's position is; saved with the weights and the optimizer moments. */
export interface LoopState {
  epoch: number;
  /** Optimizer steps taken in the whole run. */
  step: number;
  /** Micro-batches consumed in the current epoch. */
  batchInEpoch: number;
  /** Sum of step losses in the current epoch (for the epoch mean). */
  epochLossSum: number;
  epochSteps: number;
  best: { epoch: number; metric: number } | null;
  badEpochs: number;
  /** Log records written so far (log.jsonl is cut back to this on resume). */
  logLines: number;
  finished: null | 'epochs' | 'early-stop' | 'max-steps';
}

export interface Snapshot {
  loop: LoopState;
  model: IoTensor[];
  optimizers: OptimizerState[];
}

/** Files of a run (DIR/ in Node). Every write is atomic. */
export interface RunStore {
  appendLog(records: readonly LogRecord[]): Promise<void>;
  saveState(s: Snapshot): Promise<void>;
  /** `name`: 'last', 'best', or 'epoch-N'. */
  saveModel(name: string, tensors: readonly IoTensor[], metadata: Record<string, string>): Promise<void>;
  saveDevScores(epoch: number, text: string): Promise<void>;
  /** Keep only the newest `keep` epoch-N models. */
  pruneEpochModels(keep: number): Promise<void>;
}

export interface TrainEvents {
  step?(r: StepRecord, epochProgress: { done: number; total: number }): void;
  devProgress?(done: number, total: number): void;
  epoch?(r: EpochRecord): void;
  /** Polled after each optimizer step: true = save the state and return (Ctrl-C). */
  stopRequested?(): boolean;
}

export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
  readonly userFacing = true;
}

export interface TrainerInit {
  config: TrainConfig;
  model: SpoofModel;
  train: DataLoader;
  dev: readonly TrialRecord[];
  /** Reads and decodes a dev file (Node: decodeAudioFile; elsewhere bytesAudioReader). */
  readDev: AudioReader;
  classNames: string[];
  store: RunStore;
  events?: TrainEvents;
  /** Metadata merged into every saved model (metadata of the config, corpus name, adapter …). */
  provenance?: Partial<Provenance>;
}

/** Parameter groups: front-end / head × decay / no decay, each its own optimizer (own lr and weight decay). */
interface Group {
  name: string;
  frontEnd: boolean;
  params: Map<string, Tensor>;
  opt: Adam;
}

function makeGroups(c: TrainConfig, model: SpoofModel): Group[] {
  const o = c.optimizer;
  return parameterGroups(model, { noDecayNormBias: o.noDecayNormBias }).map((b) => {
    const Opt = o.kind === 'adamw' ? AdamW : Adam;
    const lr = b.frontEnd && o.frontEndLr !== null ? o.frontEndLr : o.lr;
    return { name: b.name, frontEnd: b.frontEnd, params: b.params, opt: new Opt(b.params, { lr, betas: o.betas, eps: o.eps, weightDecay: b.decay ? o.weightDecay : 0 }) };
  });
}

export function initialLoopState(): LoopState {
  return { epoch: 0, step: 0, batchInEpoch: 0, epochLossSum: 0, epochSteps: 0, best: null, badEpochs: 0, logLines: 0, finished: null };
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now()) / 1000;

export class Trainer {
  readonly groups: Group[];
  loop: LoopState = initialLoopState();
  private readonly c: TrainConfig;
  private readonly model: SpoofModel;
  private readonly started = now();

  constructor(private readonly t: TrainerInit) {
    this.c = t.config;
    this.model = t.model;
    this.groups = makeGroups(this.c, this.model);
    if (!this.groups.length) throw new Error('nothing to train: every parameter is frozen');
  }

  get stepsPerEpoch(): number {
    return Math.ceil(this.t.train.batchesPerEpoch() / this.c.accumulate);
  }

  get totalSteps(): number {
    const all = this.stepsPerEpoch * this.c.epochs;
    return this.c.maxSteps ? Math.min(this.c.maxSteps, all) : all;
  }

  /** Restores weights, BatchNorm counters, optimizer moments and the loop position. */
  restore(s: Snapshot): void {
    try {
      this.model.loadStateDict(s.model.map((x) => ({ name: x.name, shape: x.shape, data: x.data as Float32Array | BigInt64Array })));
    } catch (e) {
      throw new Error(`training state: ${(e as Error).message}`);
    }
    if (s.optimizers.length !== this.groups.length) throw new Error(`training state: ${s.optimizers.length} optimizer groups saved, this configuration has ${this.groups.length}`);
    this.groups.forEach((g, i) => g.opt.loadStateDict(s.optimizers[i]));
    this.loop = structuredClone(s.loop);
  }

  async snapshot(): Promise<Snapshot> {
    const optimizers: OptimizerState[] = [];
    for (const g of this.groups) optimizers.push(await g.opt.stateDict());
    return { loop: structuredClone(this.loop), model: await this.model.stateDict(), optimizers };
  }

  private async save(): Promise<void> {
    await this.t.store.saveState(await this.snapshot());
  }

  private async log(records: LogRecord[]): Promise<void> {
    await this.t.store.appendLog(records);
    this.loop.logLines += records.length;
  }

  /** Loss of one micro-batch (scaled by 1/accumulate), backward into .grad; returns the unscaled loss tensor. */
  private microStep(x: Float32Array, shape: [number, number], labels: Int32Array, counter: number): Tensor {
    const { c, model } = this;
    return tidy(() => {
      const wav = tensor(x, shape, 'f32', model.engine);
      const opts = { training: true, seed: c.seed, step: counter };
      const logits = model instanceof Detector ? model.forward(wav, opts).logits : model.forward(wav, opts);
      const loss = crossEntropy(logits, labels, c.classWeights ? { classWeights: c.classWeights } : {});
      backward(c.accumulate > 1 ? mul(loss, 1 / c.accumulate) : loss);
      return loss;
    });
  }

  private gradNorm(): Tensor {
    return noGrad(() =>
      tidy(() => {
        let sq: Tensor | null = null;
        for (const g of this.groups) for (const p of g.params.values()) if (p.grad) sq = sq ? add(sq, sum(mul(p.grad, p.grad))) : sum(mul(p.grad, p.grad));
        return sqrt(sq ?? tensor([0], [], 'f32', this.model.engine));
      }),
    );
  }

  private clip(total: number): void {
    const max = this.c.clipGradNorm;
    if (!(max > 0) || total <= max) return;
    const coef = max / (total + 1e-6);
    noGrad(() => {
      for (const g of this.groups) for (const p of g.params.values()) if (p.grad) tidy(() => assign(p.grad!, mul(p.grad!, coef)));
    });
  }

  private zeroGrad(): void {
    for (const g of this.groups) g.opt.zeroGrad();
  }

  /**
   * Forward + loss + backward of micro-batch `micro` of the current optimizer step (gradients accumulate in .grad;
   * the loss is scaled by 1/accumulate); returns the unscaled loss. Dropout is seeded by the micro-batch counter.
   */
  async accumulate(x: Float32Array, shape: [number, number], labels: Int32Array, micro: number): Promise<number> {
    const counter = (this.loop.step * this.c.accumulate + micro) >>> 0;
    const lossT = this.microStep(x, shape, labels, counter);
    try {
      return await lossT.item();
    } finally {
      lossT.dispose();
    }
  }

  /**
   * Ends an optimizer step: checks the loss and gradient norm are finite (else throws naming the step and
   * `where()`, leaving every saved file as it was), clips, sets the scheduled learning rate, updates every
   * parameter group and clears the gradients.
   */
  async update(stepLoss: number, where: () => string): Promise<{ lr: number; gradNorm: number }> {
    const c = this.c;
    const normT = this.gradNorm();
    const gradNorm = await normT.item();
    normT.dispose();
    if (!Number.isFinite(stepLoss) || !Number.isFinite(gradNorm)) {
      this.zeroGrad();
      throw new NonFiniteError(
        `non-finite ${Number.isFinite(stepLoss) ? 'gradient norm' : 'loss'} at step ${this.loop.step + 1} (${where()}; ` +
          `the last saved state is kept (continue with --resume after changing what caused it, e.g. a lower learning rate)`,
      );
    }
    this.clip(gradNorm);
    const lr = learningRate(c.optimizer.lr, c.schedule, this.loop.step, this.totalSteps);
    for (const g of this.groups) {
      const base = g.frontEnd && c.optimizer.frontEndLr !== null ? c.optimizer.frontEndLr : c.optimizer.lr;
      g.opt.lr = base === c.optimizer.lr ? lr : (lr * base) / c.optimizer.lr;
      g.opt.update();
    }
    this.zeroGrad();
    this.loop.step++;
    return { lr, gradNorm };
  }

  /** Runs until the epochs end, early stopping, maxSteps, or a stop request; returns why it returned. */
  async run(): Promise<'epochs' | 'early-stop' | 'max-steps' | 'interrupted'> {
    const { c, t } = this;
    if (this.loop.finished) return this.loop.finished;
    const B = c.batch;
    const K = c.accumulate;
    const perEpoch = t.train.batchesPerEpoch();
    for (; this.loop.epoch < c.epochs; ) {
      const epoch = this.loop.epoch;
      let micro = 0;
      let stepLoss = 0;
      let stepClips = 0;
      let stepStart = now();
      let files: string[] = [];
      for await (const batch of t.train.epoch(epoch, this.loop.batchInEpoch * B)) {
        stepLoss += (await this.accumulate(batch.x, batch.shape, batch.labels, micro)) / K;
        files = files.concat(Array.from(batch.records, (r) => t.train.records[r].path));
        stepClips += batch.shape[0];
        micro++;
        this.loop.batchInEpoch++;
        const lastOfEpoch = this.loop.batchInEpoch >= perEpoch;
        if (micro < K && !lastOfEpoch) continue;
        const { lr, gradNorm } = await this.update(stepLoss, () => `epoch ${epoch + 1}), batch of ${files.slice(0, 8).join(', ')}${files.length > 8 ? ` … (${files.length} files)` : ''}`);
        this.loop.epochLossSum += stepLoss;
        this.loop.epochSteps++;
        const secs = now() - stepStart;
        const rec: StepRecord = { type: 'step', step: this.loop.step, epoch: epoch + 1, loss: stepLoss, lr, gradNorm, clipsPerSec: stepClips / Math.max(secs, 1e-9), elapsed: now() - this.started };
        await this.log([rec]);
        t.events?.step?.(rec, { done: this.loop.batchInEpoch, total: perEpoch });
        micro = 0;
        stepLoss = 0;
        stepClips = 0;
        files = [];
        stepStart = now();
        const maxed = c.maxSteps > 0 && this.loop.step >= c.maxSteps;
        if (maxed && !lastOfEpoch) {
          this.loop.finished = 'max-steps';
          await this.finishRun();
          return 'max-steps';
        }
        if (!lastOfEpoch && ((c.checkpointEvery > 0 && this.loop.step % c.checkpointEvery === 0) || t.events?.stopRequested?.())) {
          await this.save();
          if (t.events?.stopRequested?.()) return 'interrupted';
        }
      }
      const stop = await this.endEpoch(epoch);
      if (stop) return stop;
      if (t.events?.stopRequested?.()) return 'interrupted';
    }
    return 'epochs';
  }

  /** Dev scoring, metrics, selection, model files, state. Returns a reason to stop, or null. */
  private async endEpoch(epoch: number): Promise<'epochs' | 'early-stop' | 'max-steps' | null> {
    const { c, t } = this;
    const trials = await scoreList(this.model, t.dev, t.readDev, { crop: c.devCrop, window: c.crop, batch: Math.max(1, Math.min(8, c.batch)) }, t.events?.devProgress);
    const result = this.devResult(trials);
    const metricName = c.task === 'detect' ? 'eer' : 'macroF1';
    const metric = result.task === 'detect' ? result.breakdown.overall.eer : result.metrics.macro.f1;
    const better = this.loop.best === null || (c.task === 'detect' ? metric <= this.loop.best.metric : metric >= this.loop.best.metric);
    if (better) {
      this.loop.best = { epoch: epoch + 1, metric };
      this.loop.badEpochs = 0;
    } else this.loop.badEpochs++;
    const rec: EpochRecord = {
      type: 'epoch',
      epoch: epoch + 1,
      step: this.loop.step,
      trainLoss: this.loop.epochLossSum / Math.max(1, this.loop.epochSteps),
      metric,
      metricName,
      best: better,
      dev: devSummary(result),
      ...(result.task === 'detect' ? { perGroup: Object.fromEntries(Object.entries(result.breakdown.perGroup).map(([g, m]) => [g, m.eer])) } : {}),
      elapsed: now() - this.started,
    };
    await t.store.saveDevScores(epoch + 1, devScoreText(trials, result, t.classNames));
    const tensors = await this.model.stateDict();
    const meta = (bestEpoch: number) => this.metadata(result, bestEpoch, epoch + 1);
    await t.store.saveModel('last', tensors, meta(this.loop.best!.epoch));
    if (better) await t.store.saveModel('best', tensors, meta(epoch + 1));
    if (c.keep > 0) {
      await t.store.saveModel(`epoch-${epoch + 1}`, tensors, meta(this.loop.best!.epoch));
      await t.store.pruneEpochModels(c.keep);
    }
    await this.log([rec]);
    t.events?.epoch?.(rec);
    this.loop.epoch = epoch + 1;
    this.loop.batchInEpoch = 0;
    this.loop.epochLossSum = 0;
    this.loop.epochSteps = 0;
    let stop: 'epochs' | 'early-stop' | 'max-steps' | null = null;
    if (c.maxSteps > 0 && this.loop.step >= c.maxSteps) stop = 'max-steps';
    else if (this.loop.badEpochs > c.patience) stop = 'early-stop';
    else if (this.loop.epoch >= c.epochs) stop = 'epochs';
    this.loop.finished = stop;
    await this.save();
    return stop;
  }

  /** maxSteps inside an epoch: evaluate dev once more so last/best reflect the final weights. */
  private async finishRun(): Promise<void> {
    await this.endEpoch(this.loop.epoch);
    this.loop.finished = 'max-steps';
    await this.save();
  }

  private devResult(trials: ScoredTrial[]): DetectionResult | TracingResult {
    const { c } = this;
    if (c.task === 'detect') return detectionResult(trials);
    const K = this.t.classNames.length;
    return tracingResult(trials, K, c.tracing.thresholdPolicy === 'fixed' ? c.tracing.threshold : { acceptRate: c.tracing.acceptRate });
  }

  /** Metadata of a saved model: config, task, classes, τ or calibration, provenance. */
  private metadata(result: DetectionResult | TracingResult, bestEpoch: number, epoch: number): Record<string, string> {
    const { c } = this;
    const info: ModelInfo = {
      task: c.task,
      classes: this.t.classNames,
      provenance: {
        trained: true,
        preset: c.init ? undefined : c.preset,
        epochs: epoch,
        bestEpoch,
        steps: this.loop.step,
        seed: c.seed,
        dev: devSummary(result),
        ...this.t.provenance,
      },
    };
    if (result.task === 'detect') info.calibration = { a: result.calibration.a, c: result.calibration.c, prior: result.calibration.prior, ...(result.calibration.separable ? { separable: true } : {}) };
    else info.threshold = result.threshold;
    return { 'spoofscan.config': JSON.stringify(modelConfig(this.model)), ...metadataOf(info) };
  }

  dispose(): void {
    for (const g of this.groups) g.opt.dispose();
  }
}


export function devSummary(r: DetectionResult | TracingResult): Record<string, number> {
  if (r.task === 'detect') {
    const m = r.breakdown.overall;
    return { eer: m.eer, minDcf: m.minDcf, actDcf: m.actDcf, cllr: m.cllr, minDcfMultiapi: m.minDcfMultiapi, actDcfMultiapi: m.actDcfMultiapi };
  }
  const m = r.metrics;
  return { macroF1: m.macro.f1, accuracy: m.accuracy, seenF1: m.seen.f1, unseenF1: m.unseen.f1, threshold: r.threshold };
}

/** Dev scores as `path score label` (detection: score = bona fide logit; tracing: top probability, truth, prediction). */
export function devScoreText(trials: readonly ScoredTrial[], r: DetectionResult | TracingResult, classNames: readonly string[]): string {
  const name = (k: number) => classNames[k] ?? 'unseen';
  if (r.task === 'detect') return '# score_type=bona_logit\n' + trials.map((t, i) => `${t.record.path} ${r.scores[i]} ${r.labels[i] === 1 ? 'bonafide' : 'spoof'}`).join('\n') + '\n';
  return `# tracing: path top_prob truth predicted (tau=${r.threshold})\n` + trials.map((t, i) => `${t.record.path} ${r.topProb[i]} ${name(r.truth[i])} ${name(r.predicted[i])}`).join('\n') + '\n';
}
