// Dense attention from engine ops for CPU adapters (issue 15): softmax(α·Q·Kᵀ)·V as two batched matmuls
// and a softmax. On llvmpipe the fused kernel ('direct') runs the XLS-R shape (16 heads, T = 201, d 64) at
// about 1 GFLOP/s, 27 % of an encoder layer's CPU time, while the register-blocked matmul reaches 10+;
// the N×M score matrix is small at these lengths (16·201² floats = 2.6 MB). Used only where it is
// equivalent: no key padding and no attention dropout (those keep the fused kernels).
import { engineOf, type Tensor } from '../engine/tensor.ts';
import { mulScalar } from './elementwise.ts';
import { matmul } from './matmul.ts';
import { softmax } from './softmax.ts';

/** Largest score matrix (elements, B·H·N·M) the composed path takes; longer inputs keep the fused kernel's O(N) memory. */
export const COMPOSED_ATTENTION_MAX_SCORES = 2 ** 24;

/**
 * Whether attention() takes the composed path: a CPU adapter, no mask, no dropout, a score matrix under
 * COMPOSED_ATTENTION_MAX_SCORES, no `variant` option and no `attention` kernel option on the engine (both force a
 * fused kernel).
 */
export function useComposedAttention(q: Tensor, k: Tensor, opts: { keyPaddingMask?: Tensor; dropout?: number; variant?: string }): boolean {
  if (opts.keyPaddingMask || (opts.dropout ?? 0) > 0 || opts.variant) return false;
  if (q.rank !== 4 || k.rank !== 4) return false;
  const [B, H, N] = q.shape;
  if (B * H * N * k.shape[2] > COMPOSED_ATTENTION_MAX_SCORES) return false;
  const engine = engineOf('attention', [q, k]);
  return engine.adapter.isCpu && !engine.kernelOptions.attention;
}

/** softmax(α·Q·Kᵀ)·V over q [B, H, N, d_k], k [B, H, M, d_k], v [B, H, M, d_v]; differentiable through the ops. */
export function attentionComposed(q: Tensor, k: Tensor, v: Tensor, scale: number): Tensor {
  const s = matmul(q, k, { transB: true });
  const scaled = mulScalar(s, scale);
  s.dispose();
  const p = softmax(scaled, -1);
  scaled.dispose();
  const o = matmul(p, v);
  p.dispose();
  return o;
}
