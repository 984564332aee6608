// Whole-clip inference shared by the CLI, training's dev scoring and the browser page: a 16 kHz clip → the
// model's input(s) under an explicit crop policy → logits. `first` repeat-pads/crops to one fixed window (the
// reference evaluation), `full` runs the whole utterance in one pass, `windows` covers it with half-overlapping
// fixed windows scored a batch at a time and averages their logits, so a long file never goes through the model
// whole. Per-window logits come back too (the page plots score over time).
import { tensor, type Engine, type Tensor } from '../engine/index.ts';
import { checkFullLength, checkWindowPlan, cropPad, CROP_LENGTH, MAX_WINDOW_SAMPLES, MIN_WINDOW_SAMPLES, windows } from '../train/data/crop.ts';

export type ClipCrop = 'first' | 'full' | 'windows';
export const CLIP_CROPS: readonly ClipCrop[] = ['first', 'full', 'windows'];

/** Eval-mode logits [B, C] for a batch of equal-length waveforms [B, L], as host rows; `engine` is the model's,
 *  where batches are uploaded (default: the current engine). */
export interface LogitsFn {
  (wav: Tensor): Promise<number[][]>;
  engine?: Engine;
}

export interface ClipOptions {
  crop?: ClipCrop;
  /** Window (and `first` crop) length in samples; default 64,600 (4.04 s). */
  window?: number;
  /** Windows per forward pass for `windows` (default 8). */
  batch?: number;
}

export interface ClipLogits {
  crop: ClipCrop;
  /** Samples of one model input (the whole clip for `full`). */
  input: number;
  /** Mean logits over the windows (one window unless crop = windows). */
  logits: number[];
  /** Every window's start (samples) and logits. */
  windows: { start: number; logits: number[] }[];
}

/** Stacks equal-length inputs into one [B, L] batch and runs `fn` on it. */
export async function logitsOfBatch(fn: LogitsFn, inputs: readonly Float32Array[]): Promise<number[][]> {
  const L = inputs[0].length;
  const flat = new Float32Array(inputs.length * L);
  inputs.forEach((x, i) => flat.set(x, i * L));
  const wav = tensor(flat, [inputs.length, L], 'f32', fn.engine);
  try {
    return await fn(wav);
  } finally {
    wav.dispose();
  }
}

/** Checks crop options once, before any audio is read (one clear message per bad value). */
export function checkClipOptions(o: ClipOptions): Required<ClipOptions> {
  const crop = o.crop ?? 'first';
  const window = o.window ?? CROP_LENGTH;
  const batch = o.batch ?? 8;
  if (!CLIP_CROPS.includes(crop)) throw new RangeError(`crop must be first, full or windows, not "${crop}"`);
  // One XLS-R frame up to one minute: bounds the GPU memory of one batch.
  if (!Number.isInteger(window) || window < MIN_WINDOW_SAMPLES || window > MAX_WINDOW_SAMPLES) throw new RangeError(`window must be an integer from ${MIN_WINDOW_SAMPLES} to ${MAX_WINDOW_SAMPLES.toLocaleString('en-US')} samples, not ${window}`);
  if (!Number.isInteger(batch) || batch < 1 || batch > 256) throw new RangeError(`batch must be an integer from 1 to 256, not ${batch}`);
  return { crop, window, batch };
}

/** Logits of one clip under a crop policy; `file` names the clip in errors (too long to score whole, too many windows). */
export async function clipLogits(fn: LogitsFn, samples: Float32Array, opts: ClipOptions = {}, file?: string): Promise<ClipLogits> {
  const { crop, window, batch } = checkClipOptions(opts);
  if (crop === 'full') checkFullLength(samples.length, file);
  if (crop === 'windows') checkWindowPlan(samples.length, window, file);
  if (crop !== 'windows') {
    const input = crop === 'first' ? cropPad(samples, 'repeat-first', window) : samples;
    const [logits] = await logitsOfBatch(fn, [input]);
    return { crop, input: input.length, logits, windows: [{ start: 0, logits }] };
  }
  const out: ClipLogits['windows'] = [];
  let pending: { start: number; samples: Float32Array }[] = [];
  const flush = async () => {
    const rows = await logitsOfBatch(fn, pending.map((w) => w.samples));
    rows.forEach((logits, i) => out.push({ start: pending[i].start, logits }));
    pending = [];
  };
  for (const w of windows(samples, window, window / 2)) {
    pending.push(w);
    if (pending.length === batch) await flush();
  }
  if (pending.length) await flush();
  const C = out[0].logits.length;
  const mean = Array.from({ length: C }, (_, c) => out.reduce((a, w) => a + w.logits[c], 0) / out.length);
  return { crop, input: window, logits: mean, windows: out };
}
