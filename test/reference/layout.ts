// Float64 (and integer-exact) references for layout ops and casts (kernels/layout.ts).
import { atBroadcast, filled, ravel, sizeOf, unravel, type Nd } from './nd.ts';

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

export function reshape(x: Nd, shape: readonly number[]): Nd {
  if (sizeOf(shape) !== x.data.length) throw new Error('reshape: size mismatch');
  return { shape: [...shape], data: x.data.slice() };
}

export function permute(x: Nd, perm: readonly number[]): Nd {
  const p = perm.map((a) => norm(a, x.shape.length));
  const shape = p.map((a) => x.shape[a]);
  return filled(shape, (c) => {
    const src = new Array<number>(p.length);
    p.forEach((a, i) => (src[a] = c[i]));
    return x.data[ravel(src, x.shape)];
  });
}

export function transpose(x: Nd, a = -2, b = -1): Nd {
  const perm = [...x.shape.keys()];
  const i = norm(a, perm.length);
  const j = norm(b, perm.length);
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

export function slice(x: Nd, axis: number, start: number, end?: number): Nd {
  const ax = norm(axis, x.shape.length);
  const len = x.shape[ax];
  const s = start < 0 ? start + len : start;
  const e = end === undefined ? len : end < 0 ? end + len : end;
  const shape = x.shape.map((d, i) => (i === ax ? e - s : d));
  return filled(shape, (c) => x.data[ravel(c.map((v, i) => (i === ax ? v + s : v)), x.shape)]);
}

export function concat(xs: readonly Nd[], axis: number): Nd {
  const ax = norm(axis, xs[0].shape.length);
  const starts: number[] = [];
  let total = 0;
  for (const x of xs) {
    starts.push(total);
    total += x.shape[ax];
  }
  const shape = xs[0].shape.map((d, i) => (i === ax ? total : d));
  return filled(shape, (c) => {
    let k = xs.length - 1;
    while (starts[k] > c[ax]) k--;
    const src = c.map((v, i) => (i === ax ? v - starts[k] : v));
    return xs[k].data[ravel(src, xs[k].shape)];
  });
}

export function pad(x: Nd, pads: readonly (readonly [number, number])[], value = 0): Nd {
  const before = x.shape.map((_, i) => pads[i]?.[0] ?? 0);
  const shape = x.shape.map((d, i) => d + before[i] + (pads[i]?.[1] ?? 0));
  return filled(shape, (c) => {
    const src = c.map((v, i) => v - before[i]);
    return src.every((v, i) => v >= 0 && v < x.shape[i]) ? x.data[ravel(src, x.shape)] : value;
  });
}

export function expand(x: Nd, shape: readonly number[]): Nd {
  return filled(shape, (c) => atBroadcast(x, c));
}

/** torch.index_select; negative indices count from the end. */
export function indexSelect(x: Nd, axis: number, indices: readonly number[]): Nd {
  const ax = norm(axis, x.shape.length);
  const len = x.shape[ax];
  const shape = x.shape.map((d, i) => (i === ax ? indices.length : d));
  return filled(shape, (c) => {
    const k = indices[c[ax]];
    return x.data[ravel(c.map((v, i) => (i === ax ? (k < 0 ? k + len : k) : v)), x.shape)];
  });
}

/** The gradient of indexSelect: each output slot's gradient added back to its source row. */
export function indexSelectGrad(shape: readonly number[], axis: number, indices: readonly number[], g: Nd): Nd {
  const ax = norm(axis, shape.length);
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < g.data.length; i++) {
    const c = unravel(i, g.shape);
    const k = indices[c[ax]];
    c[ax] = k < 0 ? k + shape[ax] : k;
    out[ravel(c, shape)] += g.data[i];
  }
  return { shape: [...shape], data: out };
}

export type CastType = 'f32' | 'i32' | 'u32' | 'f16';

/**
 * WGSL value conversions: float → integer truncates toward zero and saturates to the target
 * range (its float32-representable part); i32 ↔ u32 reinterpret the bits; integer → f32 rounds to nearest; f32 → f16 rounds to
 * nearest even (overflow gives ±∞).
 */
export function castValue(v: number, from: CastType, to: CastType): number {
  if (from === to) return v;
  const fromFloat = from === 'f32' || from === 'f16';
  if (to === 'f32') return Math.fround(v);
  if (to === 'f16') return roundToF16(v);
  if (fromFloat) {
    const t = Math.trunc(v);
    // WGSL clamps to the largest float32 values inside the range: 2^31 − 128 and 2^32 − 256.
    return to === 'i32' ? Math.min(2147483520, Math.max(-2147483648, t)) : Math.min(4294967040, Math.max(0, t));
  }
  return to === 'i32' ? v | 0 : v >>> 0;
}

/** Nearest binary16 value, by arithmetic (no bit tricks): quantum 2^(e−10), subnormal below 2^−14. */
export function roundToF16(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const a = Math.abs(v);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 may round up just below a power of two
  e = Math.max(-14, e);
  const q = 2 ** (e - 10);
  let m = a / q;
  const f = Math.floor(m);
  const r = m - f;
  m = r > 0.5 || (r === 0.5 && f % 2 === 1) ? f + 1 : f;
  const out = m * q;
  return Math.sign(v) * (out >= 65520 ? Infinity : out);
}
