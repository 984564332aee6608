// API tracing on whole clips: mean logits over the crop's windows → softmax → top-k with the open-set rule
// (top probability below τ → "unseen"), using the tracer's stored class names.
import type { TracingModel } from '../models/tracer/tracing-model.ts';
import { openSetDecisions, type TracePrediction } from '../models/tracer/open-set.ts';
import { clipLogits, type ClipLogits, type ClipOptions, type LogitsFn } from './clip.ts';
import { noGrad, type Tensor } from '../engine/index.ts';

export interface ClipTrace extends ClipLogits {
  prediction: TracePrediction;
  /** Classes by probability, best first (at most `top`). */
  ranked: { index: number; name: string; prob: number }[];
  /** The predicted class name, or "unseen". */
  label: string;
}

export function tracerLogits(model: TracingModel): LogitsFn {
  const fn = async (wav: Tensor): Promise<number[][]> => {
    const logits = noGrad(() => model.forward(wav));
    try {
      const data = await logits.data();
      const C = model.classes;
      const rows: number[][] = [];
      for (let i = 0; i < data.length; i += C) rows.push(Array.from(data.subarray(i, i + C)));
      return rows;
    } finally {
      logits.dispose();
    }
  };
  return Object.assign(fn, { engine: model.engine });
}

export const UNSEEN = 'unseen';

/** Names of the seen classes: the stored ones, else "class N". */
export function classNames(classes: number, stored?: readonly string[]): string[] {
  return Array.from({ length: classes }, (_, i) => stored?.[i] ?? `class ${i}`);
}

export async function traceClip(model: TracingModel, samples: Float32Array, o: ClipOptions & { threshold: number; names?: readonly string[]; top?: number }, file?: string): Promise<ClipTrace> {
  const r = await clipLogits(tracerLogits(model), samples, o, file);
  const [prediction] = openSetDecisions(r.logits, model.classes, o.threshold);
  const names = classNames(model.classes, o.names);
  const ranked = prediction.probs
    .map((prob, index) => ({ index, name: names[index], prob }))
    .sort((a, b) => b.prob - a.prob || a.index - b.index)
    .slice(0, o.top ?? 3);
  return { ...r, prediction, ranked, label: prediction.unseen ? UNSEEN : names[prediction.top] };
}
