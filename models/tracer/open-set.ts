// Closed-set classification with open-set rejection (spec model-nes2net-la.md §12): p = softmax(logits); when the top
// probability is below the threshold τ the prediction is "unseen" (class index = number of seen classes), else
// the argmax. Ties at τ stay seen. τ is recorded with every prediction.

export const DEFAULT_OPEN_SET_THRESHOLD = 0.5;

export interface TracePrediction {
  /** Class probabilities (softmax of the logits, computed in float64). */
  probs: number[];
  /** Argmax over the seen classes (first on ties). */
  top: number;
  topProb: number;
  /** `top`, or `classes` (the "unseen" label, 21 for the 21 seen APIs) when rejected. */
  predicted: number;
  unseen: boolean;
  threshold: number;
}

/** Softmax of one row in float64 (max-subtracted). */
export function softmaxRow(logits: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  const e = Array.from(logits, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Decisions for logits [B, classes] given row-major. */
export function openSetDecisions(logits: ArrayLike<number>, classes: number, threshold = DEFAULT_OPEN_SET_THRESHOLD): TracePrediction[] {
  if (!Number.isInteger(classes) || classes < 1 || logits.length % classes !== 0) {
    throw new Error(`openSetDecisions: ${logits.length} logits do not form rows of ${classes} classes`);
  }
  if (!(threshold >= 0 && threshold <= 1)) throw new Error(`openSetDecisions: threshold ${threshold} is not in [0, 1]`);
  const out: TracePrediction[] = [];
  for (let r = 0; r < logits.length; r += classes) {
    const probs = softmaxRow(Array.prototype.slice.call(logits, r, r + classes) as number[]);
    let top = 0;
    for (let i = 1; i < classes; i++) if (probs[i] > probs[top]) top = i;
    const unseen = probs[top] < threshold;
    out.push({ probs, top, topProb: probs[top], predicted: unseen ? classes : top, unseen, threshold });
  }
  return out;
}
