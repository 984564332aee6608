// Layout ops, all on one strided-copy kernel: permute/transpose, slice, concat, pad, expand.
// Plus reshape (a view), gather/index-select and cast. 4-byte dtypes are copied as raw u32 bits.
import { isGradEnabled, record } from '../engine/autograd.ts';
import { broadcastShapes, broadcastStrides, formatShape, normAxis, shapesEqual, sizeOf, stridesOf } from '../engine/shape.ts';
import { allocate, engineOf, tensor, type DType, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { bindings, checkRank, collapseDims, grid1d, launch, main1d, requireDType, stridedOffsets, type UField } from './util.ts';
import { sumTo } from './reduce-kernel.ts';

const WORD_TYPES: DType[] = ['f32', 'i32', 'u32'];

function copyFields(r: number): UField[] {
  return [
    ['n', 'u32'],
    ['srcOff', 'u32'],
    ['dstOff', 'u32'],
    ['shape', 'arr', r],
    ['ss', 'arr', r],
    ['ds', 'arr', r],
  ];
}

/** The strided copy over an iteration space of rank r, on raw 32-bit words. */
const COPY = defineKernel(
  'copy',
  ({ r }: { r: number }) => `${bindings(['src'], ['dst'], 'u32', true, copyFields(r))}
${main1d(`  if (idx >= u.n) { return; }
${stridedOffsets(r, 'shape', ['ss', 'ds'])}
  dst[u.dstOff + off_ds] = src[u.srcOff + off_ss];`)}`,
);

/** dst[dstOff + Σ c·dstSt] = src[srcOff + Σ c·srcSt] over the iteration `shape`. */
function stridedCopy(op: string, src: Tensor, dst: Tensor, shape: readonly number[], srcSt: readonly number[], srcOff: number, dstSt: readonly number[], dstOff: number): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const c = collapseDims(shape, [srcSt, dstSt]);
  const r = c.shape.length;
  launch({
    op,
    kernel: COPY({ r }),
    inputs: [src],
    outputs: [dst],
    fields: copyFields(r),
    values: { n, srcOff, dstOff, shape: c.shape, ss: c.strides[0], ds: c.strides[1] },
    workgroups: grid1d(n),
  });
}

const FILL_FIELDS: UField[] = [['n', 'u32'], ['v', 'u32']];

const FILL = defineKernel(
  'fill',
  () => `${bindings([], ['dst'], 'u32', true, FILL_FIELDS)}
${main1d(`  if (idx >= u.n) { return; }
  dst[idx] = u.v;`)}`,
);

function fillWords(op: string, t: Tensor, bits: number): void {
  if (t.size === 0) return;
  launch({
    op,
    kernel: FILL(),
    inputs: [],
    outputs: [t],
    fields: FILL_FIELDS,
    values: { n: t.size, v: bits },
    workgroups: grid1d(t.size),
  });
}

function valueBits(value: number, dtype: DType): number {
  if (dtype === 'f32') return new Uint32Array(new Float32Array([value]).buffer)[0];
  return value >>> 0;
}

function layoutInput(op: string, x: Tensor): void {
  requireDType(op, x, WORD_TYPES);
  checkRank(op, x);
}

/** A reshaped view (no copy). One dimension may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  x.storageFor('reshape');
  const target = [...shape];
  const unknown = target.indexOf(-1);
  if (unknown >= 0) {
    const known = target.reduce((a, d, i) => (i === unknown ? a : a * d), 1);
    target[unknown] = known === 0 ? 0 : x.size / known;
  }
  if (!target.every((d) => Number.isInteger(d) && d >= 0) || sizeOf(target) !== x.size) {
    throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)}`);
  }
  const y = x.view(target);
  return record('reshape', [x], y, (g) => [g.view(x.shape)]);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  layoutInput('permute', x);
  const perm = dims.map((d) => normAxis('permute', d, x.rank));
  if (perm.length !== x.rank || new Set(perm).size !== x.rank) {
    throw new Error(`permute: [${dims.join(', ')}] is not a permutation of the ${x.rank} dims of ${formatShape(x.shape)}`);
  }
  const outShape = perm.map((p) => x.shape[p]);
  const y = allocate(outShape, x.dtype, 'permute', engineOf('permute', [x]));
  const st = stridesOf(x.shape);
  stridedCopy('permute', x, y, outShape, perm.map((p) => st[p]), 0, stridesOf(outShape), 0);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return record('permute', [x], y, (g) => [permute(g, inverse)]);
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = [...Array(x.rank).keys()];
  const i = normAxis('transpose', a, x.rank);
  const j = normAxis('transpose', b, x.rank);
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/** x[start:end] along each listed axis (ends exclusive; negative values count from the end). */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  layoutInput('slice', x);
  const ax = normAxis('slice', axis, x.rank);
  const len = x.shape[ax];
  const s = start < 0 ? start + len : start;
  const e = end === undefined ? len : end < 0 ? end + len : end;
  if (!(0 <= s && s <= e && e <= len)) throw new Error(`slice: range [${start}, ${end ?? len}) is outside axis ${axis} of ${formatShape(x.shape)}`);
  const outShape = x.shape.map((d, i) => (i === ax ? e - s : d));
  const y = allocate(outShape, x.dtype, 'slice', engineOf('slice', [x]));
  const st = stridesOf(x.shape);
  stridedCopy('slice', x, y, outShape, st, s * st[ax], stridesOf(outShape), 0);
  return record('slice', [x], y, (g) => {
    const before = Array(x.rank).fill(0);
    const after = Array(x.rank).fill(0);
    before[ax] = s;
    after[ax] = len - e;
    return [padRaw('slice.backward', g, before, after, 0)];
  });
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error('concat: no tensors given');
  for (const t of xs) layoutInput('concat', t);
  const ax = normAxis('concat', axis, xs[0].rank);
  const first = xs[0];
  for (const t of xs) {
    if (t.rank !== first.rank || t.dtype !== first.dtype || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${xs.map((x) => `${formatShape(x.shape)} ${x.dtype}`).join(', ')} differ outside axis ${axis}`);
    }
  }
  const outShape = first.shape.map((d, i) => (i === ax ? xs.reduce((a, t) => a + t.shape[ax], 0) : d));
  const y = allocate(outShape, first.dtype, 'concat', engineOf('concat', xs));
  const ost = stridesOf(outShape);
  const sizes = xs.map((t) => t.shape[ax]);
  let at = 0;
  for (const t of xs) {
    stridedCopy('concat', t, y, t.shape, stridesOf(t.shape), 0, ost, at * ost[ax]);
    at += t.shape[ax];
  }
  return record('concat', xs, y, (g) => {
    let off = 0;
    return sizes.map((n) => {
      const part = slice(g, ax, off, off + n);
      off += n;
      return part;
    });
  });
}

function padRaw(op: string, x: Tensor, before: readonly number[], after: readonly number[], value: number): Tensor {
  const outShape = x.shape.map((d, i) => d + before[i] + after[i]);
  const y = allocate(outShape, x.dtype, op, engineOf(op, [x]));
  fillWords(op, y, valueBits(value, x.dtype));
  const ost = stridesOf(outShape);
  const off = before.reduce((a, b, i) => a + b * ost[i], 0);
  stridedCopy(op, x, y, x.shape, stridesOf(x.shape), 0, ost, off);
  return y;
}

/** Constant padding: `pads` lists [before, after] per axis, from the first axis. */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  layoutInput('pad', x);
  if (pads.length > x.rank || pads.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0)) {
    throw new Error(`pad: pads ${JSON.stringify(pads)} do not fit ${formatShape(x.shape)} (non-negative integers, at most one pair per axis)`);
  }
  const before = x.shape.map((_, i) => pads[i]?.[0] ?? 0);
  const after = x.shape.map((_, i) => pads[i]?.[1] ?? 0);
  const y = padRaw('pad', x, before, after, value);
  return record('pad', [x], y, (g) => {
    let cur = g;
    x.shape.forEach((d, i) => {
      if (before[i] === 0 && after[i] === 0) return;
      const next = slice(cur, i, before[i], before[i] + d);
      if (cur !== g) cur.dispose();
      cur = next;
    });
    return [cur === g ? g.view(g.shape) : cur];
  });
}

/** Materialises a broadcast of x to `shape`. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  layoutInput('expand', x);
  const target = broadcastShapes('expand', x.shape, shape);
  if (!shapesEqual(target, shape)) throw new Error(`expand: ${formatShape(x.shape)} cannot expand to ${formatShape(shape)}`);
  const y = allocate(shape, x.dtype, 'expand', engineOf('expand', [x]));
  stridedCopy('expand', x, y, shape, broadcastStrides(x.shape, shape), 0, stridesOf(shape), 0);
  return record('expand', [x], y, (g) => [sumTo(g, x.shape)]);
}

/** A plain copy (contiguous), e.g. to detach a view from shared storage. */
export function clone(x: Tensor): Tensor {
  layoutInput('clone', x);
  const y = allocate(x.shape, x.dtype, 'clone', engineOf('clone', [x]));
  stridedCopy('clone', x, y, [x.size], [1], 0, [1], 0);
  return record('clone', [x], y, (g) => [g.view(g.shape)]);
}

// ---------------------------------------------------------------- gather / index-select

const GATHER_FIELDS: UField[] = [['n', 'u32'], ['inner', 'u32'], ['nIdx', 'u32'], ['axisLen', 'u32']];

const GATHER = defineKernel(
  'gather',
  () => `@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read> ind: array<i32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
${uniformDecl(3)}
${main1d(`  if (idx >= u.n) { return; }
  let i = idx % u.inner;
  let j = (idx / u.inner) % u.nIdx;
  let o = idx / (u.inner * u.nIdx);
  let k = u32(clamp(ind[j], 0, i32(u.axisLen) - 1));
  dst[idx] = src[(o * u.axisLen + k) * u.inner + i];`)}`,
);

/**
 * Selects entries along `axis` by integer indices (torch.index_select). Host-array indices are
 * range-checked; indices in a tensor are clamped into range on the GPU.
 */
export function indexSelect(x: Tensor, axis: number, indices: Tensor | readonly number[]): Tensor {
  layoutInput('indexSelect', x);
  const ax = normAxis('indexSelect', axis, x.rank);
  const len = x.shape[ax];
  let idx: Tensor;
  let hostIdx: Int32Array | null = null;
  if (Array.isArray(indices) || !(typeof (indices as Tensor).storageFor === 'function')) {
    const arr = indices as readonly number[];
    const bad = arr.findIndex((i) => !Number.isInteger(i) || i < -len || i >= len);
    if (bad >= 0) throw new Error(`indexSelect: index ${arr[bad]} (position ${bad}) is out of range for axis ${axis} of size ${len} in ${formatShape(x.shape)}`);
    hostIdx = Int32Array.from(arr, (i) => (i < 0 ? i + len : i));
    idx = tensor(hostIdx, [arr.length], 'i32', engineOf('indexSelect', [x]));
  } else {
    idx = indices as Tensor;
    requireDType('indexSelect', idx, ['i32'], 'indices');
    if (idx.rank !== 1) throw new Error(`indexSelect: indices must be 1-D, got ${idx.describe()}`);
  }
  const outer = sizeOf(x.shape.slice(0, ax));
  const inner = sizeOf(x.shape.slice(ax + 1));
  const nIdx = idx.size;
  const outShape = x.shape.map((d, i) => (i === ax ? nIdx : d));
  const y = allocate(outShape, x.dtype, 'indexSelect', engineOf('indexSelect', [x, idx]));
  const n = outer * nIdx * inner;
  if (n > 0) {
    launch({
      op: 'indexSelect',
      kernel: GATHER(),
      inputs: [x, idx],
      outputs: [y],
      fields: GATHER_FIELDS,
      values: { n, inner, nIdx, axisLen: len },
      workgroups: grid1d(n),
    });
  }
  const owned = idx !== indices;
  // Host indices: the backward reads an inverse table (each source row's positions), O(n) work;
  // GPU-resident indices: every source row scans all indices, O(n·nIdx).
  const csr = hostIdx && isGradEnabled() && x.requiresGrad ? tensor(inverseIndex(hostIdx, len), [len + 1 + hostIdx.length], 'i32', engineOf('indexSelect', [x])) : null;
  const out = csr
    ? record('indexSelect', [x], y, (g, [sc]) => [scatterAdd(g, sc, x.shape, ax, nIdx, true)], [csr])
    : record('indexSelect', [x], y, (g, [si]) => [scatterAdd(g, si, x.shape, ax, nIdx, false)], [idx]);
  csr?.dispose();
  if (owned) idx.dispose();
  return out;
}

/**
 * CSR inverse of an index list: [offsets (len + 1) | positions (nIdx)], where positions
 * offsets[k] … offsets[k+1] − 1 list, in ascending order, the j with idx[j] = k. Ascending order keeps
 * the backward's summation order the same as a scan over all indices.
 */
export function inverseIndex(idx: Int32Array, len: number): Int32Array {
  const out = new Int32Array(len + 1 + idx.length);
  for (const k of idx) out[k + 1]++;
  for (let k = 0; k < len; k++) out[k + 1] += out[k];
  const fill = out.slice(0, len);
  for (let j = 0; j < idx.length; j++) out[len + 1 + fill[idx[j]]++] = j;
  return out;
}

function uniformDecl(binding: number): string {
  return `struct U { n: u32, inner: u32, nIdx: u32, axisLen: u32 }
@group(0) @binding(${binding}) var<uniform> u: U;`;
}

const SCATTER_ADD = defineKernel(
  'scatter_add',
  ({ csr }: { csr: boolean }) => `@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> ind: array<i32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
${uniformDecl(3)}
${main1d(`  if (idx >= u.n) { return; }
  let i = idx % u.inner;
  let k = (idx / u.inner) % u.axisLen;
  let o = idx / (u.inner * u.axisLen);
  var acc = 0.0;
${
  csr
    ? `  for (var p = u32(ind[k]); p < u32(ind[k + 1u]); p = p + 1u) {
    acc = acc + g[(o * u.nIdx + u32(ind[u.axisLen + 1u + p])) * u.inner + i];
  }`
    : `  for (var j = 0u; j < u.nIdx; j = j + 1u) {
    if (u32(clamp(ind[j], 0, i32(u.axisLen) - 1)) == k) { acc = acc + g[(o * u.nIdx + j) * u.inner + i]; }
  }`
}
  dx[idx] = acc;`)}`,
);

/**
 * The gradient of indexSelect: sums g rows into their source positions (deterministic, no atomics),
 * from the CSR inverse table (`inverseIndex`) or, for GPU-resident indices, by scanning them all.
 */
function scatterAdd(g: Tensor, idx: Tensor, shape: readonly number[], ax: number, nIdx: number, csr: boolean): Tensor {
  const gx = allocate(shape, 'f32', 'indexSelect.backward', engineOf('indexSelect.backward', [g, idx]));
  const len = shape[ax];
  const outer = sizeOf(shape.slice(0, ax));
  const inner = sizeOf(shape.slice(ax + 1));
  const n = outer * len * inner;
  if (n === 0) return gx;
  launch({
    op: 'indexSelect.backward',
    kernel: SCATTER_ADD({ csr }),
    inputs: [g, idx],
    outputs: [gx],
    fields: GATHER_FIELDS,
    values: { n, inner, nIdx, axisLen: len },
    workgroups: grid1d(n),
  });
  return gx;
}

// ---------------------------------------------------------------- cast

const WGSL_TYPE: Record<DType, string> = { f32: 'f32', i32: 'i32', u32: 'u32', f16: 'f16' };

const CAST_FIELDS: UField[] = [['n', 'u32']];

const CAST = defineKernel('cast', ({ from, to }: { from: DType; to: DType }) => {
  const f16 = from === 'f16' || to === 'f16';
  // f16 arrays are read and written in pairs (vec2) so that no two invocations share a 32-bit word.
  const body = f16
    ? from === 'f16'
      ? `  if (idx >= u.n) { return; }\n  dst[idx] = f32(src[idx]);`
      : `  if (2u * idx >= u.n) { return; }\n  let a = src[2u * idx];\n  let b = select(0.0, src[min(2u * idx + 1u, u.n - 1u)], 2u * idx + 1u < u.n);\n  dst[idx] = vec2<f16>(f16(a), f16(b));`
    : `  if (idx >= u.n) { return; }\n  dst[idx] = ${WGSL_TYPE[to]}(src[idx]);`;
  const srcType = from === 'f16' ? 'f16' : WGSL_TYPE[from];
  const dstType = to === 'f16' ? 'vec2<f16>' : WGSL_TYPE[to];
  return `${f16 ? 'enable f16;\n' : ''}@group(0) @binding(0) var<storage, read> src: array<${srcType}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${dstType}>;
struct U { n: u32 }
@group(0) @binding(2) var<uniform> u: U;
${main1d(body)}`;
});

/** Converts dtype (f32 ↔ i32 ↔ u32, and f16 when the adapter has shader-f16). Float→int truncates. */
export function cast(x: Tensor, dtype: DType): Tensor {
  x.storageFor('cast');
  if (x.dtype === dtype) return record('cast', [x], x.view(x.shape), (g) => [g.view(g.shape)]);
  const f16 = x.dtype === 'f16' || dtype === 'f16';
  const engine = engineOf('cast', [x]);
  if (f16 && !engine.hasF16()) throw new Error(`cast: f16 needs the adapter feature 'shader-f16' (${engine.describe()} lacks it)`);
  if (f16 && (x.dtype !== 'f32' && dtype !== 'f32')) throw new Error(`cast: f16 converts to and from f32 only, not ${x.dtype} → ${dtype}`);
  const y = allocate(x.shape, dtype, 'cast', engine);
  if (x.size > 0) {
    launch({
      op: 'cast',
      kernel: CAST({ from: x.dtype, to: dtype }),
      inputs: [x],
      outputs: [y],
      fields: CAST_FIELDS,
      values: { n: x.size },
      workgroups: grid1d(dtype === 'f16' ? Math.ceil(x.size / 2) : x.size),
    });
  }
  const floaty = (d: DType) => d === 'f32' || d === 'f16';
  return floaty(x.dtype) && floaty(dtype) ? record('cast', [x], y, (g) => [cast(g, x.dtype)]) : y;
}

export { bindings };
