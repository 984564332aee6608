// Pooling over time: plain mean, and attentive statistics pooling (weighted mean and std).
import { tidy } from '../engine/scope.ts';
import { formatShape } from '../engine/shape.ts';
import type { Tensor } from '../engine/tensor.ts';
import { maximum, mul, sqrt, sub } from './elementwise.ts';
import { mean, sum } from './reduce.ts';
import { concat } from './layout.ts';
import { softmax } from './softmax.ts';

/** Mean over the time axis (last by default): [B, C, T] → [B, C]. */
export function meanPool(x: Tensor, axis = -1): Tensor {
  return mean(x, axis);
}

/**
 * Attentive statistics pooling over time (wespeaker ASTP): α = softmax_t(logits) with logits
 * [B, C, T] or [B, 1, T]; μ = Σ α·x, σ = √max(Σ α·x² − μ², eps); returns [μ, σ] as [B, 2C].
 */
export function attentiveStatsPool(x: Tensor, logits: Tensor, eps = 1e-7): Tensor {
  if (x.rank !== 3 || logits.rank !== 3 || logits.shape[0] !== x.shape[0] || logits.shape[2] !== x.shape[2] || (logits.shape[1] !== x.shape[1] && logits.shape[1] !== 1)) {
    throw new Error(`attentiveStatsPool: x ${formatShape(x.shape)} needs attention logits [B, C or 1, T], got ${formatShape(logits.shape)}`);
  }
  return tidy(() => {
    const a = softmax(logits, -1);
    const mu = sum(mul(a, x), -1);
    const m2 = sum(mul(a, mul(x, x)), -1);
    const sigma = sqrt(maximum(sub(m2, mul(mu, mu)), eps));
    return concat([mu, sigma], 1);
  });
}
