// API-tracing (closed-set + open-set) metrics, spec recipe-and-metrics.md §6. Labels 0…K−1 are seen
// classes, K is "unseen". Pure TypeScript, no Node imports.

import { MetricsInputError } from './errors.ts';

/** Open-set prediction from probabilities over the K seen classes: K if max p < τ, else argmax (first on ties). */
export function openSetPredict(probs: ArrayLike<number>, offset: number, k: number, tau: number): number {
  let best = 0;
  let bestP = probs[offset];
  for (let c = 1; c < k; c++) {
    const p = probs[offset + c];
    if (p > bestP) {
      bestP = p;
      best = c;
    }
  }
  return bestP < tau ? k : best;
}

/** In-place softmax of rows of length k (stable: subtracts the row maximum). */
export function softmaxRows(values: Float64Array, k: number): Float64Array {
  for (let o = 0; o < values.length; o += k) {
    let m = -Infinity;
    for (let c = 0; c < k; c++) m = Math.max(m, values[o + c]);
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(values[o + c] - m);
      values[o + c] = e;
      sum += e;
    }
    for (let c = 0; c < k; c++) values[o + c] /= sum;
  }
  return values;
}

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** number of trials whose truth is this class */
  support: number;
}

export interface PrfAverage {
  precision: number;
  recall: number;
  f1: number;
}

export interface TracingMetrics {
  /** K: number of seen classes; label K = unseen */
  nSeen: number;
  nTrials: number;
  accuracy: number;
  /** L: sorted unique labels of truth ∪ predictions */
  labels: number[];
  /** per class over all K + 1 labels (0…K), absent labels scored 0 */
  perClass: ClassScores[];
  /** unweighted mean over L (sklearn average='macro', zero_division=0) */
  macro: PrfAverage;
  /** support-weighted mean over L (sklearn average='weighted') */
  weighted: PrfAverage;
  /** macro over all K + 1 labels, absent ones as zeros (sklearn classification_report with labels=range(K+1)) */
  reportMacro: PrfAverage;
  /** macro over the seen labels (< K) that are in L */
  seen: PrfAverage;
  /** the per-class row of label K */
  unseen: ClassScores;
  /** R_K: fraction of unseen trials predicted unseen (NaN-free: 0 when there are none) */
  unseenRejection: number;
  /** #(truth < K ∧ ŷ = K) / #(truth < K) (0 when there are no seen trials) */
  seenFalseRejection: number;
  /** confusion[truth][prediction], (K + 1) × (K + 1) */
  confusion: number[][];
}

function div(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length === 0 ? 0 : s / xs.length;
}

/**
 * Tracing metrics from integer truths and predictions in 0…K (K = unseen).
 * @param nSeen K, the number of seen classes
 */
export function tracingMetrics(truth: ArrayLike<number>, pred: ArrayLike<number>, nSeen: number): TracingMetrics {
  const K = nSeen;
  if (!Number.isInteger(K) || K < 1) throw new MetricsInputError(`number of seen classes must be a positive integer, got ${K}`);
  if (truth.length !== pred.length) throw new Error(`truth (${truth.length}) and predictions (${pred.length}) differ in length`);
  if (truth.length === 0) throw new MetricsInputError('no trials');
  const n = truth.length;
  const conf: number[][] = Array.from({ length: K + 1 }, () => new Array<number>(K + 1).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const t = truth[i];
    const p = pred[i];
    if (!Number.isInteger(t) || t < 0 || t > K) throw new MetricsInputError(`trial ${i}: true label ${t} is outside 0…${K}`);
    if (!Number.isInteger(p) || p < 0 || p > K) throw new MetricsInputError(`trial ${i}: predicted label ${p} is outside 0…${K}`);
    conf[t][p]++;
    if (t === p) correct++;
  }
  const perClass: ClassScores[] = [];
  const inL: boolean[] = [];
  for (let c = 0; c <= K; c++) {
    const tp = conf[c][c];
    let support = 0;
    let predicted = 0;
    for (let o = 0; o <= K; o++) {
      support += conf[c][o];
      predicted += conf[o][c];
    }
    const fp = predicted - tp;
    const fn = support - tp;
    const precision = div(tp, tp + fp);
    const recall = div(tp, tp + fn);
    const f1 = div(2 * precision * recall, precision + recall);
    perClass.push({ precision, recall, f1, support });
    inL.push(support > 0 || predicted > 0);
  }
  const labels: number[] = [];
  for (let c = 0; c <= K; c++) if (inL[c]) labels.push(c);
  const avg = (cs: number[]): PrfAverage => ({
    precision: mean(cs.map((c) => perClass[c].precision)),
    recall: mean(cs.map((c) => perClass[c].recall)),
    f1: mean(cs.map((c) => perClass[c].f1)),
  });
  let totalSupport = 0;
  const w: PrfAverage = { precision: 0, recall: 0, f1: 0 };
  for (const c of labels) {
    const s = perClass[c].support;
    totalSupport += s;
    w.precision += s * perClass[c].precision;
    w.recall += s * perClass[c].recall;
    w.f1 += s * perClass[c].f1;
  }
  const weighted: PrfAverage = {
    precision: div(w.precision, totalSupport),
    recall: div(w.recall, totalSupport),
    f1: div(w.f1, totalSupport),
  };
  let seenTrials = 0;
  let seenRejected = 0;
  for (let c = 0; c < K; c++) {
    for (let o = 0; o <= K; o++) seenTrials += conf[c][o];
    seenRejected += conf[c][K];
  }
  return {
    nSeen: K,
    nTrials: n,
    accuracy: correct / n,
    labels,
    perClass,
    macro: avg(labels),
    weighted,
    reportMacro: avg(Array.from({ length: K + 1 }, (_, c) => c)),
    seen: avg(labels.filter((c) => c < K)),
    unseen: perClass[K],
    unseenRejection: perClass[K].recall,
    seenFalseRejection: div(seenRejected, seenTrials),
    confusion: conf,
  };
}
