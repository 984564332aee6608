// The training configuration: MultiAPI-Spoof recipe defaults per task (spec recipe-and-metrics.md §1–2), overridden
// by a JSON file, then `--set key=value` pairs (dotted keys), then command-line flags. The resolved config (every
// default filled in) is what a run records in DIR/config.json and what `--resume` reads back.
export type TrainTask = 'detect' | 'trace';

export interface TrainConfig {
  task: TrainTask;
  /** Model from scratch: 'tiny' (trains in minutes on a CPU adapter) or 'xlsr-300m'; ignored with `init`. */
  preset: 'tiny' | 'xlsr-300m';
  /** A checkpoint to start from: XLS-R alone (xlsr2_300m.pt: a new head is initialised) or a whole model. */
  init: string | null;
  /** Detection back-end. */
  backend: 'nes2net-la' | 'nes2net-x';
  /** Tracing head: the Nes2Net-LA tracer or the reference (MHA) tracer. */
  tracer: 'nes2net-la' | 'reference';
  data: {
    root: string;
    train: string;
    dev: string;
    /** Protocol format of the lists (auto-detected when null). */
    format: string | null;
    /** Tracing class names by index (default: the lists' directory per class, else "class N"). */
    classNames: string[] | null;
  };
  /** Training crop in samples (random window, repeat-padded when shorter). */
  crop: number;
  /** Dev scoring: half-overlapping windows of `crop` samples covering each whole utterance, logits averaged. */
  devCrop: 'windows' | 'first' | 'full';
  /** RawBoost algorithm 1–8, 0 = off. */
  rawboost: number;
  batch: number;
  /** Micro-batches per optimizer step (global batch = batch × accumulate). */
  accumulate: number;
  epochs: number;
  /** Stop after this many optimizer steps (0 = no limit). */
  maxSteps: number;
  /** Write the training state every N optimizer steps (0 = only at epoch ends). */
  checkpointEvery: number;
  /** Early stop after this many epochs without dev improvement. */
  patience: number;
  /** Epoch checkpoints kept in DIR/epochs/ (0 = none). */
  keep: number;
  optimizer: {
    kind: 'adam' | 'adamw';
    lr: number;
    /** Learning rate of the XLS-R front-end (null = lr). */
    frontEndLr: number | null;
    weightDecay: number;
    /** No weight decay on norm weights and biases. */
    noDecayNormBias: boolean;
    betas: [number, number];
    eps: number;
  };
  schedule: { kind: 'constant' | 'cosine'; warmupSteps: number; minLr: number };
  /** Clip the global gradient norm to this (0 = off). */
  clipGradNorm: number;
  freeze: 'none' | 'feature-encoder' | 'all';
  /** Recompute XLS-R layers in backward instead of storing activations. */
  checkpointActivations: boolean;
  /** Detection: class weights [spoof, bona fide] of the cross-entropy. */
  classWeights: [number, number] | null;
  /** XLS-R train-mode dropouts (false: eval-mode front-end with dropout off; the tiny preset trains better so). */
  dropout: boolean;
  tracing: {
    /** τ: 'accept-rate' picks the τ that keeps `acceptRate` of dev clips of seen classes; 'fixed' uses `threshold`. */
    thresholdPolicy: 'accept-rate' | 'fixed';
    acceptRate: number;
    threshold: number;
  };
  seed: number;
  /** Data worker threads (0 = main thread). */
  workers: number;
}

export const RECIPE_CROP = 64600;

export function defaultConfig(task: TrainTask): TrainConfig {
  const detect = task === 'detect';
  return {
    task,
    preset: 'tiny',
    init: null,
    backend: 'nes2net-la',
    tracer: 'nes2net-la',
    data: { root: '.', train: '', dev: '', format: null, classNames: null },
    crop: RECIPE_CROP,
    devCrop: 'windows',
    rawboost: 0,
    batch: detect ? 48 : 128,
    accumulate: 1,
    epochs: 100,
    maxSteps: 0,
    checkpointEvery: 0,
    patience: 10,
    keep: 0,
    optimizer: { kind: 'adam', lr: detect ? 5e-6 : 1e-5, frontEndLr: null, weightDecay: 1e-4, noDecayNormBias: false, betas: [0.9, 0.999], eps: 1e-8 },
    schedule: { kind: 'constant', warmupSteps: 0, minLr: 0 },
    clipGradNorm: 0,
    freeze: 'none',
    checkpointActivations: false,
    classWeights: detect ? [0.1, 0.9] : null,
    dropout: true,
    tracing: { thresholdPolicy: 'accept-rate', acceptRate: 0.95, threshold: 0.5 },
    seed: 1234,
    workers: 1,
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly userFacing = true;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Deep-merges `over` into `base`, refusing keys `base` does not have and values of another type. */
export function mergeConfig<T>(base: T, over: unknown, where: string, path = ''): T {
  if (over === undefined) return base;
  if (typeof over !== 'object' || over === null || Array.isArray(over)) throw new ConfigError(`${where}: ${path || 'config'} must be an object`);
  const out = structuredClone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    const key = path ? `${path}.${k}` : k;
    if (!(k in out)) throw new ConfigError(`${where}: unknown setting "${key}" (known: ${Object.keys(out).join(', ')})`);
    const cur = out[k];
    if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) out[k] = mergeConfig(cur, v, where, key);
    else {
      if (cur !== null && v !== null && (typeof cur !== typeof v || Array.isArray(cur) !== Array.isArray(v))) {
        throw new ConfigError(`${where}: "${key}" must be ${Array.isArray(cur) ? 'an array' : `a ${typeof cur}`}, not ${JSON.stringify(v)}`);
      }
      out[k] = v;
    }
  }
  return out as T;
}

/** `key=value` → a nested override; the value is JSON when it parses (numbers, true, [0.1,0.9]), else a string. */
export function parseSet(text: string): Record<string, unknown> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set ${text}: expected key=value (e.g. optimizer.lr=1e-4)`);
  const keys = text.slice(0, eq).split('.');
  let value: Json;
  const raw = text.slice(eq + 1);
  try {
    value = JSON.parse(raw) as Json;
  } catch {
    value = raw;
  }
  const root: Record<string, unknown> = {};
  let cur = root;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) cur[k] = value;
    else cur = (cur[k] = {}) as Record<string, unknown>;
  });
  return root;
}

const int = (v: number, lo: number, hi: number, what: string) => {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new ConfigError(`${what} must be an integer from ${lo} to ${hi}, not ${v}`);
};
const num = (v: number, lo: number, hi: number, what: string, openLo = false) => {
  if (!Number.isFinite(v) || v < lo || v > hi || (openLo && v === lo)) throw new ConfigError(`${what} must be a number in ${openLo ? '(' : '['}${lo}, ${hi}], not ${v}`);
};
const oneOf = <T extends string>(v: T, allowed: readonly T[], what: string) => {
  if (!allowed.includes(v)) throw new ConfigError(`${what} must be one of ${allowed.join(', ')}, not "${v}"`);
};

/** Range and type checks of every field (one message naming the setting). */
export function validateConfig(c: TrainConfig): TrainConfig {
  oneOf(c.task, ['detect', 'trace'], 'task');
  oneOf(c.preset, ['tiny', 'xlsr-300m'], 'preset');
  oneOf(c.backend, ['nes2net-la', 'nes2net-x'], 'backend');
  oneOf(c.tracer, ['nes2net-la', 'reference'], 'tracer');
  oneOf(c.devCrop, ['windows', 'first', 'full'], 'devCrop');
  oneOf(c.freeze, ['none', 'feature-encoder', 'all'], 'freeze');
  oneOf(c.optimizer.kind, ['adam', 'adamw'], 'optimizer.kind');
  oneOf(c.schedule.kind, ['constant', 'cosine'], 'schedule.kind');
  oneOf(c.tracing.thresholdPolicy, ['accept-rate', 'fixed'], 'tracing.thresholdPolicy');
  if (!c.data.train) throw new ConfigError('a training list is required (--train LIST)');
  if (!c.data.dev) throw new ConfigError('a dev list is required (--dev LIST): the best epoch is chosen on dev, never on eval');
  int(c.crop, 400, 960_000, 'crop');
  int(c.rawboost, 0, 8, 'rawboost');
  int(c.batch, 1, 4096, 'batch');
  int(c.accumulate, 1, 4096, 'accumulate');
  int(c.epochs, 1, 100_000, 'epochs');
  int(c.maxSteps, 0, 1e9, 'maxSteps');
  int(c.checkpointEvery, 0, 1e9, 'checkpointEvery');
  int(c.patience, 0, 100_000, 'patience');
  int(c.keep, 0, 100_000, 'keep');
  int(c.seed, 0, 2 ** 31 - 1, 'seed');
  int(c.workers, 0, 64, 'workers');
  num(c.optimizer.lr, 0, 10, 'optimizer.lr', true);
  if (c.optimizer.frontEndLr !== null) num(c.optimizer.frontEndLr, 0, 10, 'optimizer.frontEndLr');
  num(c.optimizer.weightDecay, 0, 10, 'optimizer.weightDecay');
  num(c.optimizer.eps, 0, 1, 'optimizer.eps', true);
  if (c.optimizer.betas.length !== 2) throw new ConfigError('optimizer.betas must be [beta1, beta2]');
  c.optimizer.betas.forEach((b, i) => num(b, 0, 0.999999, `optimizer.betas[${i}]`));
  int(c.schedule.warmupSteps, 0, 1e9, 'schedule.warmupSteps');
  num(c.schedule.minLr, 0, 10, 'schedule.minLr');
  num(c.clipGradNorm, 0, 1e6, 'clipGradNorm');
  if (c.classWeights !== null) {
    if (c.classWeights.length !== 2) throw new ConfigError('classWeights must be [spoof, bona fide]');
    c.classWeights.forEach((w, i) => num(w, 0, 1e6, `classWeights[${i}]`, true));
  }
  num(c.tracing.acceptRate, 0, 1, 'tracing.acceptRate', true);
  num(c.tracing.threshold, 0, 1, 'tracing.threshold');
  return c;
}

/** Learning rate at optimizer step `step` (0-based) of `total` (0 = unknown: cosine then stays at lr after warm-up). */
export function learningRate(base: number, s: TrainConfig['schedule'], step: number, total: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (base * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant' || total <= s.warmupSteps) return base;
  const t = Math.min(1, (step - s.warmupSteps) / Math.max(1, total - s.warmupSteps));
  return s.minLr + 0.5 * (base - s.minLr) * (1 + Math.cos(Math.PI * t));
}
