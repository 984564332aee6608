// Crop and pad to the model's input length (spec data.md §2; L = 64,600 samples ≈ 4.04 s at 16 kHz).
//
//   repeat-first   longer: first L samples;            shorter: tile ⌊L/len⌋ copies + first (L mod len)
//   repeat-random  longer: window at uniform offset;   shorter: same tiling
//   full           whole utterance (variable length)
// plus overlapping evaluation windows (`windows`) whose scores are averaged per utterance, so a long
// utterance is scored in fixed-size pieces and never has to go to the GPU whole.

import { DataError } from './errors.ts';
import type { Rng } from './prng.ts';

export const CROP_LENGTH = 64600;

export type CropPolicy = 'repeat-first' | 'repeat-random' | 'full';

/** Bounds for evaluation windows and whole-utterance input (issue 16: `--window 2147483648` allocated 8 GB,
 *  `--window 400` on a 2-hour file queued half a million windows, `--crop full` sent 2 hours through XLS-R). */
export const MIN_WINDOW_SAMPLES = 400; // one XLS-R frame
export const MAX_WINDOW_SAMPLES = 16000 * 60; // one minute at 16 kHz
export const MAX_WINDOWS_PER_FILE = 20_000;
export const MAX_FULL_SAMPLES = 16000 * 600; // ten minutes at 16 kHz through the model in one piece

/** Parses and checks a window length flag (e.g. score --window); throws a DataError saying the bounds. */
export function parseWindowLength(text: string | undefined, fallback = CROP_LENGTH): number {
  if (text === undefined) return fallback;
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < MIN_WINDOW_SAMPLES || n > MAX_WINDOW_SAMPLES)
    throw new DataError(`--window must be an integer from ${MIN_WINDOW_SAMPLES} to ${MAX_WINDOW_SAMPLES} samples, not "${text}"`);
  return n;
}

/** Checks that a file of `total` samples can be cut into windows of `length` (hop length/2) within
 *  MAX_WINDOWS_PER_FILE; throws a DataError naming the file. */
export function checkWindowPlan(total: number, length: number, file?: string, hop = length / 2): void {
  if (!(length >= MIN_WINDOW_SAMPLES && length <= MAX_WINDOW_SAMPLES)) throw new DataError(`window of ${length} samples is outside ${MIN_WINDOW_SAMPLES}–${MAX_WINDOW_SAMPLES}`, file);
  const count = total <= length ? 1 : Math.ceil((total - length) / hop) + 1;
  if (count > MAX_WINDOWS_PER_FILE)
    throw new DataError(
      `${total} samples in windows of ${length} make ${count} windows, more than ${MAX_WINDOWS_PER_FILE}; use a longer --window or split the file`,
      file,
    );
}

/** Checks that a whole utterance is short enough to go through the model in one piece (--crop full). */
export function checkFullLength(total: number, file?: string): void {
  if (total > MAX_FULL_SAMPLES)
    throw new DataError(
      `${total} samples (${(total / 16000).toFixed(0)} s) are too long to score whole (limit ${MAX_FULL_SAMPLES / 16000} s); use --crop windows`,
      file,
    );
}

/** Tiles x to exactly `length` samples: ⌊length/len⌋ full copies then the first (length mod len). */
export function repeatPad(x: Float32Array, length: number): Float32Array {
  if (x.length === 0) throw new RangeError('repeatPad: empty audio');
  const out = new Float32Array(length);
  for (let o = 0; o < length; o += x.length) out.set(o + x.length <= length ? x : x.subarray(0, length - o), o);
  return out;
}

/**
 * Applies a crop policy. `repeat-random` needs an rng (seeded per item from (seed, epoch, index)).
 * The result never aliases x (safe to transfer or write into).
 */
export function cropPad(x: Float32Array, policy: CropPolicy, length = CROP_LENGTH, rng?: Rng): Float32Array {
  if (x.length === 0) throw new RangeError('cropPad: empty audio');
  if (policy === 'full') return x.slice();
  if (x.length < length) return repeatPad(x, length);
  let start = 0;
  if (policy === 'repeat-random') {
    if (!rng) throw new Error("cropPad: policy 'repeat-random' needs an rng");
    start = rng.int(x.length - length + 1); // uniform in [0, len − L]
  }
  return x.slice(start, start + length);
}

export interface Window {
  /** Offset of the window in the utterance (samples). */
  start: number;
  /** Exactly `length` samples (repeat-padded when the utterance is shorter). */
  samples: Float32Array;
}

/** Window starts for an utterance of `total` samples: every `hop`, plus one aligned to the end. */
export function windowStarts(total: number, length = CROP_LENGTH, hop = length / 2): number[] {
  if (!(hop >= 1 && hop <= length)) throw new RangeError(`windows: hop must be in [1, ${length}] so windows cover the audio (got ${hop})`);
  if (total <= length) return [0];
  const starts: number[] = [];
  const last = total - length;
  for (let s = 0; s < last; s += hop) starts.push(Math.floor(s));
  starts.push(last);
  return starts;
}

/**
 * Overlapping fixed-length windows covering the whole utterance (default hop L/2, the last window
 * aligned to the end). A clip shorter than L gives one repeat-padded window. Yields lazily: the
 * caller batches windows and scores them, then averages per utterance (`averageWindowScores`).
 */
export function* windows(x: Float32Array, length = CROP_LENGTH, hop = length / 2): Generator<Window> {
  if (x.length === 0) throw new RangeError('windows: empty audio');
  const starts = windowStarts(x.length, length, hop);
  if (x.length <= length) {
    yield { start: 0, samples: x.length === length ? x.slice() : repeatPad(x, length) };
    return;
  }
  for (const s of starts) yield { start: s, samples: x.slice(s, s + length) };
}

/**
 * Collects per-window scores and emits one averaged score per utterance once all its windows are in.
 * Windows of one utterance may arrive in any order and spread over batches.
 */
export class WindowScoreAverager {
  private readonly pending = new Map<number, { sum: number; count: number; expected: number }>();

  /** Adds one window score; returns the utterance's mean score when its last window arrives. */
  add(utterance: number, windowCount: number, score: number): number | null {
    let p = this.pending.get(utterance);
    if (!p) {
      p = { sum: 0, count: 0, expected: windowCount };
      this.pending.set(utterance, p);
    }
    p.sum += score;
    p.count++;
    if (p.count < p.expected) return null;
    this.pending.delete(utterance);
    return p.sum / p.count;
  }

  /** Utterances still waiting for windows (should be 0 at the end of an evaluation). */
  get open(): number {
    return this.pending.size;
  }
}
