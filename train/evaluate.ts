// Scoring a whole list with a model and computing the task's metrics: used by training (dev, every epoch), the
// demo (eval) and anything else that needs "this model on this list". Every trial is scored exactly once, in
// list order, with the deterministic whole-utterance policy of inference/clip.ts (never a random crop).
import { clipLogits, type ClipOptions } from '../inference/clip.ts';
import { detectorLogits } from '../inference/detect.ts';
import { tracerLogits } from '../inference/trace.ts';
import { Detector } from '../models/detector.ts';
import type { SpoofModel } from '../models/spoof-model.ts';
import { openSetDecisions } from '../models/tracer/open-set.ts';
import { prepareAudio, type AudioReader } from './data/decode.ts';
import { labelIndex, parentDirName, type TrialRecord } from './data/protocols.ts';
import { detectionBreakdown, type DetectionBreakdown } from './metrics/breakdown.ts';
import { fitCalibration, applyCalibration, type Calibration } from './metrics/calibration.ts';
import { tracingMetrics, type TracingMetrics } from './metrics/tracing.ts';

export interface ScoredTrial {
  record: TrialRecord;
  /** Mean logits over the clip's windows. */
  logits: number[];
}

/** Scores every record in order; `onTrial` after each (progress). Audio of the next file is read meanwhile.
 *  `read` decodes a file (Node: decodeAudioFile, FLAC/MP3 streamed; a browser: bytesAudioReader). */
export async function scoreList(
  model: SpoofModel,
  records: readonly TrialRecord[],
  read: AudioReader,
  opts: ClipOptions,
  onTrial?: (done: number, total: number) => void,
): Promise<ScoredTrial[]> {
  const fn = model instanceof Detector ? detectorLogits(model) : tracerLogits(model);
  const out: ScoredTrial[] = [];
  const load = (r: TrialRecord) => read(r.path).then((d) => prepareAudio(d, r.path));
  let next = records.length ? load(records[0]) : null;
  for (let i = 0; i < records.length; i++) {
    const audio = await next!;
    next = i + 1 < records.length ? load(records[i + 1]) : null;
    next?.catch(() => undefined);
    const r = await clipLogits(fn, audio.samples, opts, records[i].path);
    out.push({ record: records[i], logits: r.logits });
    onTrial?.(i + 1, records.length);
  }
  return out;
}

/** The attack / API group of a trial: the protocol's group column, else the parent directory (MultiAPI). */
export const groupOf = (r: TrialRecord): string => r.group ?? parentDirName(r.path);

export interface DetectionResult {
  task: 'detect';
  scores: number[];
  labels: number[];
  groups: string[];
  breakdown: DetectionBreakdown;
  calibration: Calibration;
}

/** Detection metrics of scored trials (score = logit 1); `unseen` groups split seen / unseen. Calibration fitted here. */
export function detectionResult(trials: readonly ScoredTrial[], unseen?: Iterable<string>, calibration?: Calibration): DetectionResult {
  const scores = trials.map((t) => t.logits[1]);
  const labels = trials.map((t) => labelIndex(t.record.label));
  const groups = trials.map((t) => groupOf(t.record));
  const b = scores.filter((_, i) => labels[i] === 1);
  const s = scores.filter((_, i) => labels[i] === 0);
  const sg = groups.filter((_, i) => labels[i] === 0);
  if (!b.length || !s.length) throw new Error(`the list needs both bona fide and spoof trials (has ${b.length} bona fide, ${s.length} spoof)`);
  const cal = calibration ?? fitCalibration(b, s, { prior: 0.5 });
  const breakdown = detectionBreakdown(b, s, sg, { unseen, llr: { bonafide: applyCalibration(b, cal), spoof: applyCalibration(s, cal) }, tdcf: false });
  return { task: 'detect', scores, labels, groups, breakdown, calibration: cal };
}

export interface TracingResult {
  task: 'trace';
  threshold: number;
  /** Truth 0…K (K = unseen) and prediction per trial. */
  truth: number[];
  predicted: number[];
  topProb: number[];
  metrics: TracingMetrics;
}

/** τ that accepts (top probability ≥ τ) a fraction `rate` of the seen-class trials. */
export function thresholdForAcceptRate(topProbsOfSeen: readonly number[], rate: number): number {
  if (!topProbsOfSeen.length) throw new Error('no trial of a seen class to choose the open-set threshold on');
  const sorted = [...topProbsOfSeen].sort((a, b) => a - b);
  const reject = Math.min(sorted.length - 1, Math.floor((1 - rate) * sorted.length));
  return sorted[reject];
}

/**
 * Tracing metrics of scored trials. `classes` = K seen classes (label K = unseen). τ: a number, or
 * { acceptRate } to choose it on these trials (dev).
 */
export function tracingResult(trials: readonly ScoredTrial[], classes: number, tau: number | { acceptRate: number }): TracingResult {
  const truth = trials.map((t) => Math.min(labelIndex(t.record.label), classes));
  const probs = trials.map((t) => openSetDecisions(t.logits, classes, 0)[0]);
  const threshold = typeof tau === 'number' ? tau : thresholdForAcceptRate(probs.filter((_, i) => truth[i] < classes).map((p) => p.topProb), tau.acceptRate);
  const predicted = probs.map((p) => (p.topProb < threshold ? classes : p.top));
  return { task: 'trace', threshold, truth, predicted, topProb: probs.map((p) => p.topProb), metrics: tracingMetrics(truth, predicted, classes) };
}
