// What a trained checkpoint says about itself, in safetensors `__metadata__` (all values are strings):
//   spoofscan.task         "detect" | "trace"
//   spoofscan.classes      JSON array of class names (detect: ["spoof","bonafide"]; trace: the seen APIs)
//   spoofscan.threshold    trace: the open-set τ chosen on dev (top softmax probability below τ → "unseen")
//   spoofscan.calibration  detect: JSON {a, c, prior}: llr = a·score + c, fitted on dev
//   spoofscan.provenance   JSON: how it was trained (corpus, epochs, dev metrics, date, toy flag, note)
// A file without spoofscan.provenance.trained = true (random fixtures, conversions of unknown origin) is labelled
// "untrained or of unknown provenance" wherever a model is used, so no one mistakes random scores for answers.
export const META_TASK = 'spoofscan.task';
export const META_CLASSES = 'spoofscan.classes';
export const META_THRESHOLD = 'spoofscan.threshold';
export const META_CALIBRATION = 'spoofscan.calibration';
export const META_PROVENANCE = 'spoofscan.provenance';

export type Task = 'detect' | 'trace';

export interface Provenance {
  trained: boolean;
  /** A toy model (e.g. the demo's, trained on data/mini): its scores mean little outside that corpus. */
  toy?: boolean;
  corpus?: string;
  preset?: string;
  epochs?: number;
  bestEpoch?: number;
  steps?: number;
  seed?: number;
  adapter?: string;
  date?: string;
  /** Dev metrics of the selected epoch, e.g. { eer: 0.05 } or { macroF1: 0.9 }. */
  dev?: Record<string, number>;
  note?: string;
  /** Released upstream (e.g. MultiAPI-Spoof's epoch_5_1.422.pth). */
  source?: string;
}

export interface ModelInfo {
  task?: Task;
  classes?: string[];
  threshold?: number;
  /** llr = a·score + c; `separable`: the dev scores were perfectly separated, so the slope is only a lower bound
   *  and the LLRs are overconfident. */
  calibration?: { a: number; c: number; prior?: number; separable?: boolean };
  provenance?: Provenance;
}

function json(metadata: Record<string, string>, key: string, file: string): unknown {
  const text = metadata[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: metadata ${key} is not valid JSON (${(e as Error).message})`);
  }
}

/** Reads and checks the fields above (absent fields stay undefined; malformed ones are an error naming the file). */
export function readModelInfo(metadata: Record<string, string> | undefined, file: string): ModelInfo {
  const m = metadata ?? {};
  const info: ModelInfo = {};
  const task = m[META_TASK];
  if (task !== undefined) {
    if (task !== 'detect' && task !== 'trace') throw new Error(`${file}: metadata ${META_TASK} is "${task}", not detect or trace`);
    info.task = task;
  }
  const classes = json(m, META_CLASSES, file);
  if (classes !== undefined) {
    if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string')) throw new Error(`${file}: metadata ${META_CLASSES} is not an array of names`);
    info.classes = classes as string[];
  }
  if (m[META_THRESHOLD] !== undefined) {
    const t = Number(m[META_THRESHOLD]);
    if (!(t >= 0 && t <= 1)) throw new Error(`${file}: metadata ${META_THRESHOLD} "${m[META_THRESHOLD]}" is not a probability in [0, 1]`);
    info.threshold = t;
  }
  const cal = json(m, META_CALIBRATION, file) as { a?: unknown; c?: unknown; prior?: unknown } | undefined;
  if (cal !== undefined) {
    if (typeof cal !== 'object' || cal === null || typeof cal.a !== 'number' || typeof cal.c !== 'number' || !Number.isFinite(cal.a) || !Number.isFinite(cal.c)) {
      throw new Error(`${file}: metadata ${META_CALIBRATION} needs finite numbers a and c`);
    }
    info.calibration = { a: cal.a, c: cal.c, ...(typeof cal.prior === 'number' ? { prior: cal.prior } : {}), ...((cal as { separable?: unknown }).separable === true ? { separable: true } : {}) };
  }
  const prov = json(m, META_PROVENANCE, file);
  if (prov !== undefined) {
    if (typeof prov !== 'object' || prov === null || typeof (prov as Provenance).trained !== 'boolean') throw new Error(`${file}: metadata ${META_PROVENANCE} needs a boolean "trained"`);
    info.provenance = prov as Provenance;
  }
  return info;
}

/** The metadata entries for `info` (inverse of readModelInfo). */
export function modelInfoMetadata(info: ModelInfo): Record<string, string> {
  const out: Record<string, string> = {};
  if (info.task) out[META_TASK] = info.task;
  if (info.classes) out[META_CLASSES] = JSON.stringify(info.classes);
  if (info.threshold !== undefined) out[META_THRESHOLD] = String(info.threshold);
  if (info.calibration) out[META_CALIBRATION] = JSON.stringify(info.calibration);
  if (info.provenance) out[META_PROVENANCE] = JSON.stringify(info.provenance);
  return out;
}

/** One line for users: what the model is, and a warning when its scores mean little. */
export function describeProvenance(info: ModelInfo): string {
  const p = info.provenance;
  if (!p?.trained) return 'UNTRAINED or of unknown provenance: scores are not meaningful (random weights or an unlabelled file)';
  if (p.source) return `released model (${p.source})`;
  const dev = p.dev ? Object.entries(p.dev).map(([k, v]) => `dev ${k} ${k.toLowerCase().includes('eer') ? (v * 100).toFixed(2) + ' %' : v.toFixed(3)}`).join(', ') : '';
  const what = `trained on ${p.corpus ?? 'unknown data'}${p.bestEpoch !== undefined ? `, epoch ${p.bestEpoch}` : ''}${dev ? `, ${dev}` : ''}`;
  return p.toy ? `TOY model ${what}: a demonstration, not a real anti-spoofing model` : what;
}
