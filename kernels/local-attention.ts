// Fused local-window attention with autograd (spec model-nes2net-la.md §11): query n attends to keys
// n + δ·(j − left), j = 0..W−1, resolved by the edge policy. One kernel pass forward; backward is
// a query-side kernel (dQ, and dS / p·f into an O(N·W) scratch) and a key-side gather over a
// host-built inverse table (dK, dV without float atomics); dβ is a sum over the dS scratch.
import { record } from '../engine/autograd.ts';
import type { Engine } from '../engine/runtime.ts';
import { keep } from '../engine/scope.ts';
import { formatShape } from '../engine/shape.ts';
import { allocate, engineOf, full, tensor, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { check4d, checkHeadDim, defaultScale, dropoutPlan, ROWS_PER_GROUP, type DropoutOptions, type DropoutPlan } from './attention-common.ts';
import {
  LOCAL_FIELDS,
  localBackwardKVSource,
  localBackwardQSource,
  localForwardSource,
  type EdgePolicy,
  type LocalShaderCfg,
} from './local-attention-wgsl.ts';
import { gradIf } from './attention.ts';
import { sum } from './reduce.ts';
import { launch, requireDType, type UValues } from './util.ts';

export type { EdgePolicy };
export const EDGE_POLICIES: readonly EdgePolicy[] = ['clamp', 'mask', 'zero'];

export interface LocalAttentionOptions extends DropoutOptions {
  /** Window W (slots per query). */
  window: number;
  /** Dilation δ ≥ 1 (default 1). */
  dilation?: number;
  /** 'clamp' (Nes2Net-LA: edge indices clamped, duplicates counted), 'mask' (out-of-range keys excluded) or 'zero' (zero-padded K and V). */
  policy: EdgePolicy;
  /** Slots left of the query, h_l (default ⌊W/2⌋; 0 … W−1; W−1 = causal). */
  left?: number;
  /** Logit scale α (default 1/√d_k). */
  scale?: number;
  /** Additive logit bias β [H, W] per head and slot (trainable). */
  bias?: Tensor;
}

interface Geometry {
  B: number;
  H: number;
  N: number;
  dk: number;
  dv: number;
  W: number;
  dil: number;
  left: number;
}

function geometry(op: string, q: Tensor, k: Tensor, v: Tensor, o: LocalAttentionOptions): Geometry {
  check4d(op, 'q', q);
  check4d(op, 'k', k);
  check4d(op, 'v', v);
  const [B, H, N, dk] = q.shape;
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[2] !== N || k.shape[3] !== dk) {
    throw new Error(`${op}: k ${formatShape(k.shape)} must match q ${formatShape(q.shape)}`);
  }
  if (v.shape[0] !== B || v.shape[1] !== H || v.shape[2] !== N) throw new Error(`${op}: v ${formatShape(v.shape)} must be [${B}, ${H}, ${N}, d_v]`);
  checkHeadDim(op, 'q/k', dk);
  checkHeadDim(op, 'v', v.shape[3]);
  const W = o.window;
  const dil = o.dilation ?? 1;
  const left = o.left ?? Math.floor(W / 2);
  if (!Number.isInteger(W) || W < 1) throw new Error(`${op}: window ${W} must be a positive integer`);
  if (!Number.isInteger(dil) || dil < 1) throw new Error(`${op}: dilation ${dil} must be a positive integer`);
  if (!Number.isInteger(left) || left < 0 || left >= W) throw new Error(`${op}: left ${left} must be an integer in 0..${W - 1} (slot 'left' is the query itself)`);
  if (!EDGE_POLICIES.includes(o.policy)) throw new Error(`${op}: policy '${String(o.policy)}' is not one of ${EDGE_POLICIES.join(', ')}`);
  if (o.bias) {
    requireDType(op, o.bias, ['f32'], 'bias');
    if (o.bias.rank !== 2 || o.bias.shape[0] !== H || o.bias.shape[1] !== W) throw new Error(`${op}: bias ${formatShape(o.bias.shape)} must be [H, W] = [${H}, ${W}]`);
  }
  return { B, H, N, dk, dv: v.shape[3], W, dil, left };
}

function cfg(g: Geometry, o: LocalAttentionOptions, drop: DropoutPlan): LocalShaderCfg {
  const vw = g.dk % 4 === 0 && g.dv % 4 === 0 ? 4 : 1;
  return { dk: g.dk, dv: g.dv, tq: ROWS_PER_GROUP, policy: o.policy, bias: Boolean(o.bias), drop: drop.on, vw };
}

function uniforms(g: Geometry, scale: number, drop: DropoutPlan): UValues {
  return {
    N: g.N,
    H: g.H,
    W: g.W,
    dil: g.dil,
    left: g.left,
    scale,
    seed: drop.seed,
    thr: drop.threshold,
    dscale: drop.scale,
    pfOff: g.B * g.H * g.N * g.W,
  };
}

function groups(g: Geometry): [number, number, number] {
  return [Math.ceil(g.N / ROWS_PER_GROUP), g.H, g.B];
}

const FORWARD = defineKernel('local:fwd', localForwardSource);
const BACKWARD_Q = defineKernel('local:bwdq', localBackwardQSource);
const BACKWARD_KV = defineKernel('local:bwdkv', localBackwardKVSource);

/** The key row slot j of query n reads: an index, −1 (zero vector) or null (excluded). Mirrors WGSL slotKey. */
export function slotKeyOf(n: number, j: number, N: number, dil: number, left: number, policy: EdgePolicy): number | null {
  const m = n + dil * (j - left);
  if (m >= 0 && m < N) return m;
  if (policy === 'clamp') return Math.min(Math.max(m, 0), N - 1);
  return policy === 'zero' ? -1 : null;
}

/**
 * For each key m, the (n, j) pairs whose slot reads it, as one u32 array: offsets [N + 1], then the
 * entries n·W + j grouped by key (CSR). Under 'clamp' keys 0 and N−1 also collect the clamped pairs.
 */
export function inverseTable(N: number, W: number, dil: number, left: number, policy: EdgePolicy): Uint32Array {
  const counts = new Uint32Array(N + 1);
  for (let n = 0; n < N; n++)
    for (let j = 0; j < W; j++) {
      const m = slotKeyOf(n, j, N, dil, left, policy);
      if (m !== null && m >= 0) counts[m + 1]++;
    }
  for (let m = 0; m < N; m++) counts[m + 1] += counts[m];
  const table = new Uint32Array(N + 1 + counts[N]);
  table.set(counts);
  const fill = counts.slice(0, N);
  for (let n = 0; n < N; n++)
    for (let j = 0; j < W; j++) {
      const m = slotKeyOf(n, j, N, dil, left, policy);
      if (m !== null && m >= 0) table[N + 1 + fill[m]++] = n * W + j;
    }
  return table;
}

const TABLE_CACHE_SIZE = 32;
const tableCache = new WeakMap<Engine, Map<string, Tensor>>();

/** The inverse table on the GPU, cached per engine and (N, W, δ, left, policy) ('mask' and 'zero' share one). */
function cachedTable(engine: Engine, g: Geometry, policy: EdgePolicy): Tensor {
  let cache = tableCache.get(engine);
  if (!cache) tableCache.set(engine, (cache = new Map()));
  const key = `${g.N}:${g.W}:${g.dil}:${g.left}:${policy === 'clamp' ? 'clamp' : 'range'}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit); // most recently used last
    return hit;
  }
  const t = keep(tensor(inverseTable(g.N, g.W, g.dil, g.left, policy), undefined, 'u32', engine));
  cache.set(key, t);
  if (cache.size > TABLE_CACHE_SIZE) {
    const [oldKey, old] = cache.entries().next().value as [string, Tensor];
    cache.delete(oldKey);
    old.dispose();
  }
  return t;
}

/** Forward without autograd: O [B, H, N, d_v] and LSE [B, H, N]. */
export function localWindowAttentionForward(q: Tensor, k: Tensor, v: Tensor, o: LocalAttentionOptions): { out: Tensor; lse: Tensor } {
  const op = 'localWindowAttention';
  const g = geometry(op, q, k, v, o);
  const drop = dropoutPlan(op, o);
  const c = cfg(g, o, drop);
  const engine = engineOf(op, o.bias ? [q, k, v, o.bias] : [q, k, v]);
  const out = allocate([g.B, g.H, g.N, g.dv], 'f32', op, engine);
  const lse = allocate([g.B, g.H, g.N], 'f32', op, engine);
  if (g.B * g.H * g.N > 0) {
    launch({
      op,
      kernel: FORWARD(c),
      inputs: o.bias ? [q, k, v, o.bias] : [q, k, v],
      outputs: [out, lse],
      fields: LOCAL_FIELDS,
      values: uniforms(g, defaultScale(g.dk, o.scale), drop),
      workgroups: groups(g),
    });
  }
  return { out, lse };
}

/** dQ, dK, dV and (with a bias) dβ [H, W]. */
export function localWindowAttentionBackward(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  lse: Tensor,
  gout: Tensor,
  o: LocalAttentionOptions,
): { dq: Tensor; dk: Tensor; dv: Tensor; dbias: Tensor | null } {
  const op = 'localWindowAttention.backward';
  const g = geometry(op, q, k, v, o);
  const drop = dropoutPlan(op, o);
  const c = cfg(g, o, drop);
  const values = uniforms(g, defaultScale(g.dk, o.scale), drop);
  const bias = o.bias ? [o.bias] : [];
  const engine = engineOf(op, [q, k, v, lse, gout, ...bias]);
  const dq = allocate(q.shape, 'f32', op, engine);
  const dk = allocate(k.shape, 'f32', op, engine);
  const dv = allocate(v.shape, 'f32', op, engine);
  const rows = g.B * g.H * g.N;
  if (rows === 0) return { dq, dk, dv, dbias: o.bias ? full([g.H, g.W], 0, 'f32', engine) : null };
  const scratch = allocate([2 * rows * g.W], 'f32', op, engine);
  launch({
    op,
    kernel: BACKWARD_Q(c),
    inputs: [q, k, v, ...bias, lse, gout],
    outputs: [dq, scratch],
    fields: LOCAL_FIELDS,
    values,
    workgroups: groups(g),
  });
  // The key side reads only the scratch and the table: one pipeline for every policy/bias/dropout.
  const ckv: LocalShaderCfg = { ...c, policy: 'clamp', bias: false, drop: false };
  launch({
    op,
    kernel: BACKWARD_KV(ckv),
    inputs: [q, gout, scratch, cachedTable(engine, g, o.policy)],
    outputs: [dk, dv],
    fields: LOCAL_FIELDS,
    values,
    workgroups: groups(g),
  });
  let dbias: Tensor | null = null;
  if (o.bias) {
    const ds = scratch.view([g.B, g.H, g.N, g.W]); // the dS half is the scratch's prefix
    dbias = sum(ds, [0, 2]);
    ds.dispose();
  }
  scratch.dispose();
  return { dq, dk, dv, dbias };
}

/**
 * Local-window attention over q, k [B, H, N, d_k], v [B, H, N, d_v]: s[n, j] = α·⟨q_n, k_m⟩ + β[h, j]
 * with m = n + δ·(j − left) resolved by the edge policy; a = softmax over the valid slots, optional
 * dropout on a (mask = counter hash of (seed, b·H + h, n, j)); returns O [B, H, N, d_v].
 */
export function localWindowAttention(q: Tensor, k: Tensor, v: Tensor, o: LocalAttentionOptions): Tensor {
  const { out, lse } = localWindowAttentionForward(q, k, v, o);
  const bias = o.bias;
  const inputs = bias ? [q, k, v, bias] : [q, k, v];
  const result = record(
    'localWindowAttention',
    inputs,
    out,
    (gout, saved) => {
      const [sq, sk, sv, sl] = saved;
      const r = localWindowAttentionBackward(sq, sk, sv, sl, gout, { ...o, bias: bias ? saved[4] : undefined });
      const grads = [gradIf(r.dq, q.requiresGrad), gradIf(r.dk, k.requiresGrad), gradIf(r.dv, v.requiresGrad)];
      if (bias) grads.push(r.dbias && gradIf(r.dbias, bias.requiresGrad));
      return grads;
    },
    bias ? [q, k, v, lse, bias] : [q, k, v, lse],
  );
  lse.dispose();
  return result;
}
