// Two generic custom autograd ops (used by XLS-R): activation checkpointing (recompute a block in backward) and
// fairseq's GradMultiply (identity forward, scaled gradient: feature_grad_mult).
import { backward, enableGrad, isGradEnabled, noGrad, record, requiresGrad } from '../engine/autograd.ts';
import { tidy } from '../engine/index.ts';
import type { Tensor } from '../engine/tensor.ts';
import { mulScalar } from '../kernels/index.ts';

/**
 * y = fn(x, ctx), keeping only x (and the constant tensors `ctx`, e.g. masks) for backward: the forward runs
 * without a tape; backward re-runs fn with one (same seeds, so the same dropout masks) and back-propagates
 * through that. `params` are the leaves fn reads: their gradients accumulate during the recompute. fn must be
 * deterministic and must read tensors other than params only through ctx (they may be freed after forward).
 */
export function checkpoint(
  fn: (x: Tensor, ctx: readonly Tensor[]) => Tensor,
  x: Tensor,
  params: readonly Tensor[],
  ctx: readonly Tensor[] = [],
): Tensor {
  const trainable = params.filter((p) => p.requiresGrad);
  if (!isGradEnabled() || (!x.requiresGrad && trainable.length === 0)) return fn(x, ctx);
  const xNeedsGrad = x.requiresGrad;
  const y = noGrad(() => tidy(() => fn(x, ctx)));
  return record(
    'checkpoint',
    [x, ...trainable],
    y,
    (g, [sx, ...sctx]) => {
      const leaf = requiresGrad(sx.view(sx.shape), xNeedsGrad);
      enableGrad(() =>
        tidy(() => {
          const out = fn(leaf, sctx);
          backward(out, g);
        }),
      );
      const dx = leaf.grad;
      leaf.grad = null;
      leaf.dispose();
      return [dx, ...trainable.map(() => null)];
    },
    [x, ...ctx],
  );
}

/** Identity forward; backward multiplies the gradient by `scale` (fairseq GradMultiply). */
export function gradScale(x: Tensor, scale: number): Tensor {
  if (scale === 1) return x;
  return record('gradScale', [x], x.view(x.shape), (g) => [mulScalar(g, scale)]);
}
