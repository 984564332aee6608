// Detection on whole clips: bona fide score = logit of class 1 (higher = more bona fide), per clip and per window.
import type { Tensor } from '../engine/index.ts';
import type { Detector } from '../models/detector.ts';
import { clipLogits, type ClipLogits, type ClipOptions, type LogitsFn } from './clip.ts';

export interface ClipScore extends ClipLogits {
  score: number;
  /** Per-window scores (logit 1 of each window), for score-over-time plots. */
  windowScores: { start: number; score: number }[];
}

export function detectorLogits(detector: Detector): LogitsFn {
  return Object.assign(async (wav: Tensor) => (await detector.score(wav)).logits, { engine: detector.engine });
}

/** Scores one 16 kHz clip. The clip score is the mean over windows of the bona fide logit. */
export async function scoreClip(detector: Detector, samples: Float32Array, opts: ClipOptions = {}, file?: string): Promise<ClipScore> {
  if (detector.backend.config.nOut !== 2) throw new Error(`the back-end has ${detector.backend.config.nOut} outputs; scoring needs a 2-class (spoof / bona fide) detector`);
  const r = await clipLogits(detectorLogits(detector), samples, opts, file);
  return { ...r, score: r.logits[1], windowScores: r.windows.map((w) => ({ start: w.start, score: w.logits[1] })) };
}
