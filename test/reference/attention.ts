// Float64 references for fused attention (kernels/attention.ts) and local-window attention
// (kernels/local-attention.ts), forward and analytic backward. Both are "attention over a list of
// slots per query row": a slot names a key row (or the zero vector), an additive bias and the
// counter words of its dropout decision (mirrored with the kernels' host RNG).
import { dropThreshold, rngHash, rngKeep } from '../../kernels/rng.ts';
import type { Nd } from './nd.ts';

export type Policy = 'clamp' | 'mask' | 'zero';

interface Slot {
  /** Key row, or -1 for the zero key/value (policy 'zero'). */
  m: number;
  bias: number;
  /** Dropout counter words (after the seed). */
  words: [number, number, number];
  /** Index of the bias entry this slot adds (for dβ), or -1. */
  biasIndex: number;
}

export interface Dropout {
  p: number;
  seed: number;
}

interface Problem {
  B: number;
  H: number;
  N: number;
  M: number;
  dk: number;
  dv: number;
  scale: number;
  slots: (b: number, h: number, n: number) => Slot[];
}

export interface AttentionResult {
  out: Nd;
  lse: Float64Array;
}

export interface AttentionGrads {
  dq: Nd;
  dk: Nd;
  dv: Nd;
  /** Only for local attention with a bias: [H, W]. */
  dbias?: Nd;
}

function dropFactor(d: Dropout | undefined, seed: number, w: [number, number, number]): number {
  if (!d || d.p === 0) return 1;
  return rngKeep(rngHash(seed, w[0], w[1], w[2]), dropThreshold(d.p)) ? 1 / (1 - d.p) : 0;
}

function dot(a: Float64Array, ai: number, b: Float64Array, bi: number, d: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) s += a[ai + c] * b[bi + c];
  return s;
}

/** Per row: the slots, their probabilities (before dropout) and dropout factors. */
function rowProbs(p: Problem, q: Nd, k: Nd, b: number, h: number, n: number, drop?: Dropout) {
  const slots = p.slots(b, h, n);
  const qi = ((b * p.H + h) * p.N + n) * p.dk;
  const logits = slots.map((s) => (s.m < 0 ? 0 : p.scale * dot(q.data, qi, k.data, ((b * p.H + h) * p.M + s.m) * p.dk, p.dk)) + s.bias);
  const mx = Math.max(...logits);
  const e = logits.map((x) => Math.exp(x - mx));
  const l = e.reduce((a, x) => a + x, 0);
  return {
    slots,
    probs: e.map((x) => x / l),
    lse: slots.length ? mx + Math.log(l) : -Infinity,
    f: slots.map((s) => dropFactor(drop, drop?.seed ?? 0, s.words)),
  };
}

function forward(p: Problem, q: Nd, k: Nd, v: Nd, drop?: Dropout): AttentionResult {
  const out = new Float64Array(p.B * p.H * p.N * p.dv);
  const lse = new Float64Array(p.B * p.H * p.N);
  for (let b = 0; b < p.B; b++)
    for (let h = 0; h < p.H; h++)
      for (let n = 0; n < p.N; n++) {
        const r = rowProbs(p, q, k, b, h, n, drop);
        const row = (b * p.H + h) * p.N + n;
        lse[row] = r.lse;
        r.slots.forEach((s, j) => {
          if (s.m < 0) return;
          const w = r.probs[j] * r.f[j];
          const vi = ((b * p.H + h) * p.M + s.m) * p.dv;
          for (let c = 0; c < p.dv; c++) out[row * p.dv + c] += w * v.data[vi + c];
        });
      }
  return { out: { shape: [p.B, p.H, p.N, p.dv], data: out }, lse };
}

function backward(p: Problem, q: Nd, k: Nd, v: Nd, gout: Nd, drop: Dropout | undefined, biasShape?: number[]): AttentionGrads {
  const dq = new Float64Array(q.data.length);
  const dk = new Float64Array(k.data.length);
  const dv = new Float64Array(v.data.length);
  const db = biasShape ? new Float64Array(biasShape[0] * biasShape[1]) : undefined;
  const { out } = forward(p, q, k, v, drop);
  for (let b = 0; b < p.B; b++)
    for (let h = 0; h < p.H; h++)
      for (let n = 0; n < p.N; n++) {
        const r = rowProbs(p, q, k, b, h, n, drop);
        const row = (b * p.H + h) * p.N + n;
        const D = dot(gout.data, row * p.dv, out.data, row * p.dv, p.dv);
        r.slots.forEach((s, j) => {
          const kvRow = (b * p.H + h) * p.M + s.m;
          const dP = s.m < 0 ? 0 : dot(gout.data, row * p.dv, v.data, kvRow * p.dv, p.dv) * r.f[j];
          const dS = r.probs[j] * (dP - D);
          if (db && s.biasIndex >= 0) db[s.biasIndex] += dS;
          if (s.m < 0) return;
          for (let c = 0; c < p.dk; c++) {
            dq[row * p.dk + c] += p.scale * dS * k.data[kvRow * p.dk + c];
            dk[kvRow * p.dk + c] += p.scale * dS * q.data[row * p.dk + c];
          }
          for (let c = 0; c < p.dv; c++) dv[kvRow * p.dv + c] += r.probs[j] * r.f[j] * gout.data[row * p.dv + c];
        });
      }
  return {
    dq: { shape: q.shape, data: dq },
    dk: { shape: k.shape, data: dk },
    dv: { shape: v.shape, data: dv },
    dbias: db && biasShape ? { shape: biasShape, data: db } : undefined,
  };
}

export interface FullRefOptions {
  scale?: number;
  /** [B·M] flat, nonzero = padded key. */
  keyPaddingMask?: ArrayLike<number>;
  dropout?: Dropout;
}

function fullProblem(q: Nd, k: Nd, v: Nd, o: FullRefOptions): Problem {
  const [B, H, N, dk] = q.shape;
  const M = k.shape[2];
  const mask = o.keyPaddingMask;
  return {
    B,
    H,
    N,
    M,
    dk,
    dv: v.shape[3],
    scale: o.scale ?? 1 / Math.sqrt(dk),
    slots: (b, h, n) => {
      const out: Slot[] = [];
      for (let m = 0; m < M; m++) if (!mask || mask[b * M + m] === 0) out.push({ m, bias: 0, words: [b * H + h, n, m], biasIndex: -1 });
      return out;
    },
  };
}

/** softmax(α·Q·Kᵀ, padded keys excluded) · V, dropout mask words (b·H + h, n, m). */
export function attentionRef(q: Nd, k: Nd, v: Nd, o: FullRefOptions = {}): AttentionResult {
  return forward(fullProblem(q, k, v, o), q, k, v, o.dropout);
}

export function attentionRefBackward(q: Nd, k: Nd, v: Nd, gout: Nd, o: FullRefOptions = {}): AttentionGrads {
  return backward(fullProblem(q, k, v, o), q, k, v, gout, o.dropout);
}

export interface LocalRefOptions {
  window: number;
  dilation?: number;
  /** Slots left of the query (default ⌊W/2⌋): slot j reads key n + δ·(j − left). */
  left?: number;
  policy: Policy;
  scale?: number;
  /** [H, W]. */
  bias?: Nd;
  dropout?: Dropout;
}

/** The key a slot reads under a policy: an index, -1 for the zero vector, or null when excluded. */
export function slotKey(n: number, j: number, N: number, o: { window: number; dilation?: number; left?: number; policy: Policy }): number | null {
  const left = o.left ?? Math.floor(o.window / 2);
  const m = n + (o.dilation ?? 1) * (j - left);
  if (m >= 0 && m < N) return m;
  if (o.policy === 'clamp') return Math.min(Math.max(m, 0), N - 1);
  return o.policy === 'zero' ? -1 : null;
}

function localProblem(q: Nd, k: Nd, v: Nd, o: LocalRefOptions): Problem {
  const [B, H, N, dk] = q.shape;
  const W = o.window;
  return {
    B,
    H,
    N,
    M: N,
    dk,
    dv: v.shape[3],
    scale: o.scale ?? 1 / Math.sqrt(dk),
    slots: (b, h, n) => {
      const out: Slot[] = [];
      for (let j = 0; j < W; j++) {
        const m = slotKey(n, j, N, o);
        if (m === null) continue;
        out.push({ m, bias: o.bias ? o.bias.data[h * W + j] : 0, words: [b * H + h, n, j], biasIndex: h * W + j });
      }
      return out;
    },
  };
}

/** Local-window attention per spec model-nes2net-la.md §11; dropout words (b·H + h, n, j). */
export function localAttentionRef(q: Nd, k: Nd, v: Nd, o: LocalRefOptions): AttentionResult {
  return forward(localProblem(q, k, v, o), q, k, v, o.dropout);
}

export function localAttentionRefBackward(q: Nd, k: Nd, v: Nd, gout: Nd, o: LocalRefOptions): AttentionGrads {
  return backward(localProblem(q, k, v, o), q, k, v, gout, o.dropout, [q.shape[1], o.window]);
}
