// Multi-head attention for inference on llvmpipe (issue 15): softmax(α·Q·Kᵀ)·V per head straight from the
// projections q [B, T, H·d], k [B, M, H·d], v [B, M, H·dv]. The texture matmul's packing reads each head's
// rows in place (entry (b, h) starts h·d into row b·T) and the second product writes o [B, T, H·dv] in place,
// so the composed path's four head permutes (split q, k, v; merge o) and its scale pass are not needed: about
// 10 ms of a 201-frame XLS-R layer. No autograd: taken only when nothing needs a gradient.
import { isGradEnabled } from '../engine/autograd.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { COMPOSED_ATTENTION_MAX_SCORES } from './attention-composed.ts';
import { defaultVariant } from './matmul.ts';
import { batchedGeometry, denseLayout, padTo, packRows, textureProduct, textureSupports, textureTileFor, vec4Stores, type ProductLayout, type TextureTile } from './matmul-texture.ts';
import type { MatmulGeometry } from './matmul-common.ts';
import { softmax } from './softmax.ts';

interface Plan {
  B: number;
  T: number;
  M: number;
  H: number;
  d: number;
  dv: number;
  scores: MatmulGeometry;
  mix: MatmulGeometry;
  tiles: [TextureTile, TextureTile];
}

/** Entry (b, h) of P·V writes o[b, t, h·dv + j]: rows H·dv apart, batches T·H·dv, heads dv. */
const headsLayout = (T: number, H: number, dv: number): ProductLayout => ({ coff: 0, crow: H * dv, ccol: 1, zin: H, czo: T * H * dv, czi: dv });


/**
 * The plan when this path applies: nothing needs a gradient, no mask or dropout, the engine's matmul for the
 * score product is the texture kernel, the score matrix is under the composed path's cap and both products
 * fit the texture limit; otherwise null.
 */
export function planHeadsTexture(q: Tensor, k: Tensor, v: Tensor, heads: number, opts: { keyPaddingMask?: Tensor; dropout?: number; variant?: string }): Plan | null {
  if (opts.keyPaddingMask || (opts.dropout ?? 0) > 0 || opts.variant) return null;
  if (isGradEnabled() && (q.requiresGrad || k.requiresGrad || v.requiresGrad)) return null;
  const engine = engineOf('attention', [q, k, v]);
  if (engine.kernelOptions.attention) return null;
  const [B, T, E] = q.shape;
  const M = k.shape[1];
  const d = E / heads;
  const dv = v.shape[2] / heads;
  if (B * heads * T * M > COMPOSED_ATTENTION_MAX_SCORES) return null;
  const scores = batchedGeometry(T, M, d, B * heads);
  const mix = batchedGeometry(T, dv, M, B * heads);
  if (defaultVariant(engine, scores) !== 'texture' || defaultVariant(engine, mix) !== 'texture') return null;
  const o = engine.kernelOptions;
  const mixLayout = headsLayout(T, heads, dv);
  const tiles: [TextureTile, TextureTile] = [
    textureTileFor(engine.adapter.backend, T * M * d, vec4Stores(M, denseLayout(scores)), o.matmulLargeTileMacs),
    textureTileFor(engine.adapter.backend, T * dv * M, vec4Stores(dv, mixLayout), o.matmulLargeTileMacs),
  ];
  const max = engine.limits.maxTextureDimension2D;
  if (!textureSupports(scores, tiles[0], max) || !textureSupports(mix, tiles[1], max)) return null;
  return { B, T, M, H: heads, d, dv, scores, mix, tiles };
}

/** o [B, T, H·dv] from q, k, v as planHeadsTexture checked them, scale α on the logits. */
export function headsAttentionTexture(q: Tensor, k: Tensor, v: Tensor, p: Plan, scale: number): Tensor {
  const engine = engineOf('attention', [q, k, v]);
  const { B, T, M, H, d, dv } = p;
  const E = H * d;
  const Ev = H * dv;
  const [t1, t2] = p.tiles;
  // One operand's (b, h) entries: batch b is `batchStride` floats on, head h `headStride`.
  const heads = (x: Tensor, rows: number, K: number, srow: number, sk: number, batchStride: number, headStride: number) => ({
    x,
    off: 0,
    rows,
    K,
    srow,
    sk,
    batchShape: [B, H],
    batchStrides: [batchStride, headStride],
  });
  // S [B, H, T, M] = α·Q_h·K_hᵀ: row t of head h of q is q[b, t, h·d …], so rows are E apart.
  const ta = packRows(engine, 'matmul:A', heads(q, T, d, E, 1, T * E, d), padTo(T, t1.tm));
  const tb = packRows(engine, 'matmul:B', heads(k, M, d, E, 1, M * E, d), padTo(M, t1.tn));
  const s = allocate([B, H, T, M], 'f32', 'attention', engine);
  textureProduct(ta, tb, s, p.scores, t1, null, { alpha: scale });
  const probs = softmax(s, -1);
  s.dispose();
  // O = P·V_h, written at o[b, t, h·dv + j]: column j of V_h runs down the keys, Ev apart.
  const pa = packRows(engine, 'matmul:A', { x: probs, off: 0, rows: T, K: M, srow: M, sk: 1, batchShape: [B * H], batchStrides: [T * M] }, padTo(T, t2.tm));
  const vb = packRows(engine, 'matmul:B', heads(v, dv, M, 1, Ev, M * Ev, dv), padTo(dv, t2.tn));
  const o = allocate([B, T, Ev], 'f32', 'attention', engine);
  textureProduct(pa, vb, o, p.mix, t2, null, { layout: headsLayout(T, H, dv) });
  probs.dispose();
  return o;
}
