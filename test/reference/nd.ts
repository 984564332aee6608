// Plain float64 n-d arrays for reference implementations: shapes, strides, NumPy broadcasting,
// index arithmetic, and a seeded value generator. Independent of the engine on purpose.

export interface Nd {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

export function nd(shape: readonly number[], data: ArrayLike<number>): Nd {
  if (data.length !== sizeOf(shape)) throw new Error(`nd: ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
}

export function filled(shape: readonly number[], f: (coords: number[], flat: number) => number): Nd {
  const n = sizeOf(shape);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = f(unravel(i, shape), i);
  return { shape: [...shape], data };
}

/** Multi-index of flat index `i` in row-major `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return c;
}

export function ravel(coords: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d] + coords[d];
  return i;
}

export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1 && d !== 1 && v !== d) throw new Error(`broadcastShape: [${shapes.map((x) => x.join(',')).join('] [')}] do not broadcast`);
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

/** The value of `a` at output coordinates `coords` of a broadcast result. */
export function atBroadcast(a: Nd, coords: readonly number[]): number {
  const off = coords.length - a.shape.length;
  let i = 0;
  for (let d = 0; d < a.shape.length; d++) i = i * a.shape[d] + (a.shape[d] === 1 ? 0 : coords[off + d]);
  return a.data[i];
}

/** Elementwise f over the broadcast of all operands. */
export function zipWith(operands: readonly Nd[], f: (...v: number[]) => number): Nd {
  const shape = broadcastShape(...operands.map((o) => o.shape));
  return filled(shape, (c) => f(...operands.map((o) => atBroadcast(o, c))));
}

export function map(a: Nd, f: (v: number) => number): Nd {
  return { shape: [...a.shape], data: a.data.map(f) };
}

/** Rounds every value to float32 so that the engine and the reference see identical inputs. */
export function toF32(a: Nd): Nd {
  return map(a, Math.fround);
}

/** mulberry32: small, seeded, reproducible across platforms. */
export class SeededRandom {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hiExclusive: number): number {
    return lo + Math.floor(this.next() * (hiExclusive - lo));
  }
}

export interface ValueOptions {
  lo?: number;
  hi?: number;
  /** Keep |v| ≥ this (for ops with a kink or pole at 0); values are pushed out, keeping their sign. */
  awayFromZero?: number;
  /** Round to integers (for exact comparisons, ties in max/min, integer dtypes). */
  integer?: boolean;
}

/** Seeded float32-representable values in [lo, hi). */
export function randomNd(shape: readonly number[], seed: number, o: ValueOptions = {}): Nd {
  const rng = new SeededRandom(seed);
  const lo = o.lo ?? -2;
  const hi = o.hi ?? 2;
  return filled(shape, () => {
    let v = rng.uniform(lo, hi);
    if (o.integer) v = Math.floor(v);
    if (o.awayFromZero !== undefined && Math.abs(v) < o.awayFromZero) v = v < 0 ? v - o.awayFromZero : v + o.awayFromZero;
    return Math.fround(v);
  });
}

/** Seeded values that are pairwise distinct by at least `gap` (a shuffled ramp), for max/min gradients. */
export function distinctNd(shape: readonly number[], seed: number, gap = 0.1): Nd {
  const rng = new SeededRandom(seed);
  const n = sizeOf(shape);
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * gap);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [vals[i], vals[j]] = [vals[j], vals[i]];
  }
  return nd(shape, vals.map(Math.fround));
}

/** Seeded integers in [lo, hi) (exact, not rounded to float32: for i32/u32 tensors). */
export function randomInts(shape: readonly number[], seed: number, lo: number, hi: number): Nd {
  const rng = new SeededRandom(seed);
  return filled(shape, () => rng.int(lo, hi));
}
