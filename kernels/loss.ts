// Classification loss: log-softmax + negative log-likelihood with optional class weights and
// PyTorch's weighted-mean reduction, Σ w[yᵢ]·(−log pᵢ[yᵢ]) / Σ w[yᵢ].
import { tidy } from '../engine/scope.ts';
import { engineOf, tensor, type Tensor } from '../engine/tensor.ts';
import { formatShape } from '../engine/shape.ts';
import { mul, mulScalar } from './elementwise.ts';
import { sum } from './reduce.ts';
import { logSoftmax } from './softmax.ts';


export interface CrossEntropyOptions {
  /** Per-class weights (torch's `weight=`), e.g. [0.1, 0.9] in the anti-spoofing recipe. */
  classWeights?: readonly number[];
  /** 'mean' (weighted mean, PyTorch's default) or 'sum'. */
  reduction?: 'mean' | 'sum';
}

/** Cross-entropy of logits [N, C] against integer class labels (host array), as a scalar tensor. */
export function crossEntropy(logits: Tensor, labels: ArrayLike<number>, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  if (logits.rank !== 2) throw new Error(`${op}: logits must be [N, C], got ${formatShape(logits.shape)}`);
  const [N, C] = logits.shape;
  if (labels.length !== N) throw new Error(`${op}: ${labels.length} labels for ${N} rows of logits ${formatShape(logits.shape)}`);
  const w = opts.classWeights ?? new Array<number>(C).fill(1);
  if (w.length !== C) throw new Error(`${op}: ${w.length} class weights for ${C} classes`);
  const coef = new Float32Array(N * C);
  let total = 0;
  for (let i = 0; i < N; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= C) throw new Error(`${op}: label ${y} at row ${i} is not a class in [0, ${C})`);
    coef[i * C + y] = w[y];
    total += w[y];
  }
  const scale = opts.reduction === 'sum' ? -1 : total > 0 ? -1 / total : 0;
  return tidy(() => mulScalar(sum(mul(logSoftmax(logits, -1), tensor(coef, [N, C], 'f32', engineOf(op, [logits])))), scale));
}
