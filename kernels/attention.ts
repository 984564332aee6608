// Fused scaled-dot-product attention with autograd, and multi-head attention built on it.
// Forward saves O and LSE only; backward recomputes the probabilities (kernels in attention-wgsl.ts).
import { record } from '../engine/autograd.ts';
import type { Engine } from '../engine/runtime.ts';
import { formatShape } from '../engine/shape.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import {
  attentionVariant,
  check4d,
  checkHeadDim,
  defaultScale,
  dropoutPlan,
  ROWS_PER_GROUP,
  tileRows,
  type AttentionVariant,
  type DropoutOptions,
  type DropoutPlan,
} from './attention-common.ts';
import { ATTN_FIELDS, backwardKVSource, backwardQSource, forwardSource, type AttnShaderCfg, type MaskType } from './attention-wgsl.ts';
import { launch, requireDType, type UValues } from './util.ts';
import { attentionComposed, useComposedAttention } from './attention-composed.ts';
import { headsAttentionTexture, planHeadsTexture } from './attention-texture.ts';
import { matmul, matmulBias } from './matmul.ts';
import { permute, reshape } from './layout.ts';

export interface AttentionOptions extends DropoutOptions {
  /** Logit scale α (default 1/√d_k). */
  scale?: number;
  /** [B, M], nonzero = padded key (ignored). f32, i32 or u32. Rows whose keys are all padded give O = 0. */
  keyPaddingMask?: Tensor;
  /** Kernel variant (tests and benchmarks); default by adapter. */
  variant?: AttentionVariant;
}

interface Geometry {
  B: number;
  H: number;
  N: number;
  M: number;
  dk: number;
  dv: number;
}

function geometry(op: string, q: Tensor, k: Tensor, v: Tensor, mask?: Tensor): Geometry {
  check4d(op, 'q', q);
  check4d(op, 'k', k);
  check4d(op, 'v', v);
  const [B, H, N, dk] = q.shape;
  const M = k.shape[2];
  const dv = v.shape[3];
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== dk) {
    throw new Error(`${op}: k ${formatShape(k.shape)} does not match q ${formatShape(q.shape)} (expected [${B}, ${H}, M, ${dk}])`);
  }
  if (v.shape[0] !== B || v.shape[1] !== H || v.shape[2] !== M) {
    throw new Error(`${op}: v ${formatShape(v.shape)} does not match k ${formatShape(k.shape)} (expected [${B}, ${H}, ${M}, d_v])`);
  }
  if (M === 0) throw new Error(`${op}: k has no keys (${formatShape(k.shape)})`);
  checkHeadDim(op, 'q/k', dk);
  checkHeadDim(op, 'v', dv);
  if (mask) {
    requireDType(op, mask, ['f32', 'i32', 'u32'], 'keyPaddingMask');
    if (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== M) {
      throw new Error(`${op}: keyPaddingMask ${formatShape(mask.shape)} must be [B, M] = [${B}, ${M}]`);
    }
  }
  return { B, H, N, M, dk, dv };
}

const FORWARD = defineKernel('attn:fwd', forwardSource);
const BACKWARD_Q = defineKernel('attn:bwdq', backwardQSource);
const BACKWARD_KV = defineKernel('attn:bwdkv', backwardKVSource);

function shaderCfg(engine: Engine, g: Geometry, variant: AttentionVariant, mask: Tensor | undefined, drop: DropoutPlan, floatsPerRow: number): AttnShaderCfg {
  const shared = variant === 'shared';
  return {
    dk: g.dk,
    dv: g.dv,
    tq: ROWS_PER_GROUP,
    tk: shared ? tileRows(engine, floatsPerRow) : 16,
    shared,
    mask: (mask?.dtype ?? 'none') as MaskType,
    drop: drop.on,
  };
}

function uniforms(g: Geometry, scale: number, drop: DropoutPlan): UValues {
  return {
    N: g.N,
    M: g.M,
    H: g.H,
    scale,
    seed: drop.seed,
    thr: drop.threshold,
    dscale: drop.scale,
    negInf: 0xff800000,
    lseOff: g.B * g.H * g.N * g.dv,
  };
}

function groups(rows: number, g: Geometry): [number, number, number] {
  return [Math.ceil(rows / ROWS_PER_GROUP), g.H, g.B];
}

/** The forward kernel's single output: O [B, H, N, d_v] followed by LSE [B, H, N] (a storage-binding budget of 8 per kernel). */
function forwardPacked(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): { packed: Tensor; g: Geometry } {
  const op = 'attention';
  const mask = opts.keyPaddingMask;
  const g = geometry(op, q, k, v, mask);
  const drop = dropoutPlan(op, opts);
  const scale = defaultScale(g.dk, opts.scale);
  const engine = engineOf(op, mask ? [q, k, v, mask] : [q, k, v]);
  const packed = allocate([g.B * g.H * g.N * (g.dv + 1)], 'f32', op, engine);
  if (g.B * g.H * g.N > 0) {
    const cfg = shaderCfg(engine, g, attentionVariant(engine, opts.variant), mask, drop, g.dk + g.dv);
    launch({
      op,
      kernel: FORWARD(cfg),
      inputs: mask ? [q, k, v, mask] : [q, k, v],
      outputs: [packed],
      fields: ATTN_FIELDS,
      values: uniforms(g, scale, drop),
      workgroups: groups(g.N, g),
    });
  }
  return { packed, g };
}

/** Forward without autograd: O [B, H, N, d_v] and LSE [B, H, N] (log-sum-exp of the logits; −∞ for a row with every key padded). */
export function attentionForward(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): { out: Tensor; lse: Tensor } {
  const { packed, g } = forwardPacked(q, k, v, opts);
  const engine = engineOf('attention', [packed]);
  const lse = allocate([g.B, g.H, g.N], 'f32', 'attention', engine);
  const rows = g.B * g.H * g.N;
  if (rows > 0) engine.copy('attention', packed.bufferFor('attention'), rows * g.dv * 4, lse.bufferFor('attention'), 0, rows * 4);
  lse.storageFor('attention').version++;
  const out = packed.view([g.B, g.H, g.N, g.dv]);
  packed.dispose();
  return { out, lse };
}

/** dQ, dK, dV from the inputs, the packed forward output and the output gradient (two kernels, no atomics). */
function attentionBackward(q: Tensor, k: Tensor, v: Tensor, packed: Tensor, gout: Tensor, opts: AttentionOptions): { dq: Tensor; dk: Tensor; dv: Tensor } {
  const op = 'attention.backward';
  const mask = opts.keyPaddingMask;
  const g = geometry(op, q, k, v, mask);
  const drop = dropoutPlan(op, opts);
  const scale = defaultScale(g.dk, opts.scale);
  const m = mask ? [mask] : [];
  const engine = engineOf(op, [q, k, v, packed, gout, ...m]);
  const variant = attentionVariant(engine, opts.variant);
  const dq = allocate(q.shape, 'f32', op, engine);
  const dk = allocate(k.shape, 'f32', op, engine);
  const dv = allocate(v.shape, 'f32', op, engine);
  const stats = allocate([g.B, g.H, g.N, 2], 'f32', op, engine);
  const values = uniforms(g, scale, drop);
  if (g.B * g.H * g.N > 0) {
    const cq = shaderCfg(engine, g, variant, mask, drop, g.dk + g.dv);
    launch({
      op,
      kernel: BACKWARD_Q(cq),
      inputs: [q, k, v, packed, gout, ...m],
      outputs: [dq, stats],
      fields: ATTN_FIELDS,
      values,
      workgroups: groups(g.N, g),
    });
  }
  const ckv = shaderCfg(engine, g, variant, mask, drop, g.dk + g.dv + 2);
  launch({
    op,
    kernel: BACKWARD_KV(ckv),
    inputs: [q, k, v, stats, gout, ...m],
    outputs: [dk, dv],
    fields: ATTN_FIELDS,
    values,
    workgroups: groups(g.M, g),
  });
  stats.dispose();
  return { dq, dk, dv };
}

/** Disposes a gradient nobody asked for. */
export function gradIf(t: Tensor, need: boolean): Tensor | null {
  if (need) return t;
  t.dispose();
  return null;
}

/**
 * softmax(α·Q·Kᵀ [+ key padding]) · V over q [B, H, N, d_k], k [B, H, M, d_k], v [B, H, M, d_v],
 * fused (online softmax, no N×M matrix), with optional attention dropout whose mask is the
 * counter hash of (seed, b·H + h, n, m). Returns O [B, H, N, d_v].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  if (useComposedAttention(q, k, opts)) return attentionComposed(q, k, v, defaultScale(geometry('attention', q, k, v).dk, opts.scale));
  const { packed, g } = forwardPacked(q, k, v, opts);
  const out = packed.view([g.B, g.H, g.N, g.dv]);
  const mask = opts.keyPaddingMask;
  const result = record(
    'attention',
    [q, k, v],
    out,
    (gout, saved) => {
      const [sq, sk, sv, sp] = saved;
      const { dq, dk, dv } = attentionBackward(sq, sk, sv, sp, gout, { ...opts, keyPaddingMask: mask ? saved[4] : undefined });
      return [gradIf(dq, q.requiresGrad), gradIf(dk, k.requiresGrad), gradIf(dv, v.requiresGrad)];
    },
    mask ? [q, k, v, packed, mask] : [q, k, v, packed],
  );
  packed.dispose();
  return result;
}

export interface MultiHeadAttentionOptions extends AttentionOptions {
  /** Projection weights in torch layout [out, in]: y = x·Wᵀ + b. */
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  wo: Tensor;
  bq?: Tensor;
  bk?: Tensor;
  bv?: Tensor;
  bo?: Tensor;
  heads: number;
  /** Source of keys and values [B, M, E_kv] (cross-attention); default: x itself. */
  kv?: Tensor;
}

function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  return b ? matmulBias(x, w, b, { transB: true }) : matmul(x, w, { transB: true });
}

/** [B, T, H·d] → [B, H, T, d]. */
function splitHeads(x: Tensor, heads: number): Tensor {
  const [B, T, E] = x.shape;
  const r = reshape(x, [B, T, heads, E / heads]);
  const p = permute(r, [0, 2, 1, 3]);
  r.dispose();
  return p;
}

/**
 * torch.nn.MultiheadAttention (batch_first) / fairseq MultiheadAttention forward on x [B, T, E]:
 * per-head scale 1/√(E/heads) unless `scale` is given; returns [B, T, E_out].
 */
export function multiHeadAttention(x: Tensor, o: MultiHeadAttentionOptions): Tensor {
  const op = 'multiHeadAttention';
  requireDType(op, x, ['f32'], 'x');
  if (x.rank !== 3) throw new Error(`${op}: x must be [B, T, E], got ${formatShape(x.shape)}`);
  const src = o.kv ?? x;
  if (src.rank !== 3 || src.shape[0] !== x.shape[0]) throw new Error(`${op}: kv ${formatShape(src.shape)} must be [B, M, E_kv] with B = ${x.shape[0]}`);
  const E = o.wq.shape[0];
  if (!Number.isInteger(o.heads) || o.heads < 1 || E % o.heads !== 0) throw new Error(`${op}: ${o.heads} heads do not divide the projection width ${E}`);
  for (const [name, w, inDim] of [['wq', o.wq, x.shape[2]], ['wk', o.wk, src.shape[2]], ['wv', o.wv, src.shape[2]]] as const) {
    if (w.rank !== 2 || w.shape[1] !== inDim) throw new Error(`${op}: ${name} ${formatShape(w.shape)} must be [out, ${inDim}]`);
  }
  if (o.wk.shape[0] !== E || o.wv.shape[0] % o.heads !== 0) {
    throw new Error(`${op}: wk ${formatShape(o.wk.shape)} must have ${E} outputs and wv ${formatShape(o.wv.shape)} a multiple of ${o.heads}`);
  }
  const [B, T] = x.shape;
  const q = linear(x, o.wq, o.bq);
  const k = linear(src, o.wk, o.bk);
  const v = linear(src, o.wv, o.bv);
  // Inference on llvmpipe: the heads are read and written in place (kernels/attention-texture.ts).
  const plan = planHeadsTexture(q, k, v, o.heads, o);
  if (plan) {
    const a = headsAttentionTexture(q, k, v, plan, defaultScale(E / o.heads, o.scale));
    const y = linear(a, o.wo, o.bo);
    for (const t of [q, k, v, a]) t.dispose();
    return y;
  }
  const qh = splitHeads(q, o.heads);
  const kh = splitHeads(k, o.heads);
  const vh = splitHeads(v, o.heads);
  const a = attention(qh, kh, vh, o);
  const merged = permute(a, [0, 2, 1, 3]);
  const flat = reshape(merged, [B, T, vh.shape[1] * vh.shape[3]]);
  const y = linear(flat, o.wo, o.bo);
  for (const t of [q, k, v, qh, kh, vh, a, merged, flat]) t.dispose();
  return y;
}
