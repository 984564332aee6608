// Unfused versions built from engine ops, for tests and the benchmark: local-window attention as
// gather + matmul + softmax + matmul (O(N·W·d) memory), and dense attention with a band mask
// (O(N²) memory). Both differentiate through the ordinary op gradients.
import { formatShape } from '../engine/shape.ts';
import type { Engine } from '../engine/runtime.ts';
import { engineOf, tensor, type Tensor } from '../engine/tensor.ts';
import { dropThreshold, rngHash, rngKeep } from './rng.ts';
import { add, mul, mulScalar, where } from './elementwise.ts';
import { indexSelect, reshape } from './layout.ts';
import { matmul } from './matmul.ts';
import { softmax } from './softmax.ts';
import { slotKeyOf, type LocalAttentionOptions } from './local-attention.ts';

/** Runs fn, then disposes the listed intermediates (the result keeps what autograd needs). */
function freeing<T>(temps: Tensor[], value: T): T {
  for (const t of temps) t.dispose();
  return value;
}

/** The host dropout mask [B, H, N, W] of the fused kernel (words b·H + h, n, j), scaled by 1/(1−p). */
export function localDropoutMask(B: number, H: number, N: number, W: number, p: number, seed: number, engine?: Engine): Tensor {
  const thr = dropThreshold(p);
  const m = new Float32Array(B * H * N * W);
  let i = 0;
  for (let bh = 0; bh < B * H; bh++)
    for (let n = 0; n < N; n++)
      for (let j = 0; j < W; j++) m[i++] = rngKeep(rngHash(seed, bh, n, j), thr) ? 1 / (1 - p) : 0;
  return tensor(m, [B, H, N, W], 'f32', engine);
}

/** Local-window attention from engine ops: same semantics and dropout bits as the fused kernel. */
export function localWindowAttentionComposed(q: Tensor, k: Tensor, v: Tensor, o: LocalAttentionOptions): Tensor {
  const [B, H, N, dk] = q.shape;
  const dv = v.shape[3];
  const W = o.window;
  const dil = o.dilation ?? 1;
  const left = o.left ?? Math.floor(W / 2);
  const idx: number[] = [];
  const valid = new Float32Array(N * W);
  for (let n = 0; n < N; n++)
    for (let j = 0; j < W; j++) {
      const m = slotKeyOf(n, j, N, dil, left, o.policy);
      idx.push(m !== null && m >= 0 ? m : 0);
      valid[n * W + j] = m !== null && m >= 0 ? 1 : 0;
    }
  const temps: Tensor[] = [];
  const t = (x: Tensor) => (temps.push(x), x);
  let kg = t(reshape(t(indexSelect(k, 2, idx)), [B, H, N, W, dk]));
  let vg = t(reshape(t(indexSelect(v, 2, idx)), [B, H, N, W, dv]));
  const engine = engineOf('localWindowAttentionComposed', [q, k, v]);
  const validT = t(tensor(valid, [N, W], 'f32', engine));
  if (o.policy === 'zero') {
    const v3 = t(reshape(validT, [N, W, 1]));
    kg = t(mul(kg, v3));
    vg = t(mul(vg, v3));
  }
  const q5 = t(reshape(q, [B, H, N, 1, dk]));
  let s = t(reshape(t(matmul(q5, kg, { transB: true })), [B, H, N, W]));
  s = t(mulScalar(s, o.scale ?? 1 / Math.sqrt(dk)));
  if (o.bias) s = t(add(s, t(reshape(o.bias, [1, H, 1, W]))));
  if (o.policy === 'mask') s = t(where(validT, s, -Infinity));
  let a = t(softmax(s, -1));
  if ((o.dropout ?? 0) > 0) a = t(mul(a, t(localDropoutMask(B, H, N, W, o.dropout!, o.seed ?? 0, engine))));
  const out = matmul(t(reshape(a, [B, H, N, 1, W])), vg);
  const r = reshape(out, [B, H, N, dv]);
  out.dispose();
  return freeing(temps, r);
}

/** [N, N] additive band mask for the 'mask' policy: 0 where key m is slot j of query n, −∞ elsewhere. */
export function bandMask(N: number, W: number, dil = 1, left = Math.floor(W / 2), engine?: Engine): Tensor {
  const m = new Float32Array(N * N).fill(-Infinity);
  for (let n = 0; n < N; n++)
    for (let j = 0; j < W; j++) {
      const key = n + dil * (j - left);
      if (key >= 0 && key < N) m[n * N + key] = 0;
    }
  return tensor(m, [N, N], 'f32', engine);
}

/** Dense attention softmax(α·Q·Kᵀ + band) · V: the 'mask' policy computed with an N×N matrix. */
export function bandAttentionDense(q: Tensor, k: Tensor, v: Tensor, band: Tensor, scale?: number): Tensor {
  const N = q.shape[2];
  if (band.shape[0] !== N || band.shape[1] !== N) throw new Error(`bandAttentionDense: band ${formatShape(band.shape)} must be [${N}, ${N}]`);
  const temps: Tensor[] = [];
  const t = (x: Tensor) => (temps.push(x), x);
  const s = t(mulScalar(t(matmul(q, k, { transB: true })), scale ?? 1 / Math.sqrt(q.shape[3])));
  const a = t(softmax(t(add(s, band)), -1));
  return freeing(temps, matmul(a, v));
}
