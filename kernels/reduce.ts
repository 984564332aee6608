// Reductions over any set of axes (sum, mean, max, min, var) and sumTo for broadcast gradients.
// Small reductions use one thread per output; long ones one workgroup per output with a tree in
// workgroup memory (few barriers, so it is acceptable on CPU adapters too).
import { record } from '../engine/autograd.ts';
import { formatShape, normAxes, shapesEqual, stridesOf } from '../engine/shape.ts';
import { allocate, type Tensor } from '../engine/tensor.ts';
import { getEngine } from '../engine/runtime.ts';
import { bindings, checkRank, collapseDims, grid1d, launch, main1d, requireDType, stridedOffsets, type UField } from './util.ts';
import { affine, div, eq, mul } from './elementwise.ts';
import { expand } from './layout.ts';

type RedOp = 'sum' | 'max' | 'min';
const INIT: Record<RedOp, string> = { sum: '0.0', max: '-3.402823466e38', min: '3.402823466e38' };
const COMBINE: Record<RedOp, (a: string, b: string) => string> = {
  sum: (a, b) => `${a} + ${b}`,
  max: (a, b) => `max(${a}, ${b})`,
  min: (a, b) => `min(${a}, ${b})`,
};
const WG_RED = 64;

interface Plan {
  outShape: number[];
  keepShape: number[];
  nOut: number;
  nRed: number;
  kShape: number[];
  kStrides: number[];
  rShape: number[];
  rStrides: number[];
}

function plan(op: string, x: Tensor, axes: number[], keepDims: boolean): Plan {
  const st = stridesOf(x.shape);
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const k = collapseDims(kept.map((i) => x.shape[i]), [kept.map((i) => st[i])]);
  const r = collapseDims(axes.map((i) => x.shape[i]), [axes.map((i) => st[i])]);
  const keepShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepDims ? keepShape : kept.map((i) => x.shape[i]);
  let nRed = 1;
  for (const a of axes) nRed *= x.shape[a];
  if (nRed === 0) throw new Error(`${op}: cannot reduce over empty axes of ${formatShape(x.shape)}`);
  let nOut = 1;
  for (const i of kept) nOut *= x.shape[i];
  return { outShape, keepShape, nOut, nRed, kShape: k.shape, kStrides: k.strides[0], rShape: r.shape, rStrides: r.strides[0] };
}

function reduceKernel(op: RedOp, name: string, x: Tensor, p: Plan, scale: number): Tensor {
  const y = allocate(p.outShape, 'f32', name);
  if (p.nOut === 0) return y;
  const rk = p.kShape.length;
  const rr = p.rShape.length;
  const fields: UField[] = [
    ['nOut', 'u32'],
    ['nRed', 'u32'],
    ['scale', 'f32'],
    ['kshape', 'arr', rk],
    ['ks', 'arr', rk],
    ['rshape', 'arr', rr],
    ['rs', 'arr', rr],
  ];
  const values = { nOut: p.nOut, nRed: p.nRed, scale, kshape: p.kShape, ks: p.kStrides, rshape: p.rShape, rs: p.rStrides };
  const fin = op === 'sum' ? 'acc * u.scale' : 'acc';
  const wide = p.nRed >= 512 && p.nOut <= 8192;
  if (!wide) {
    launch({
      op: name,
      key: `reduce:${op}:narrow:k${rk}:r${rr}`,
      source: () => `${bindings(['x_'], ['y_'], 'f32', true, fields)}
${main1d(`  if (idx >= u.nOut) { return; }
${stridedOffsets(rk, 'kshape', ['ks'])}
  var acc: f32 = ${INIT[op]};
  for (var r = 0u; r < u.nRed; r = r + 1u) {
${stridedOffsets(rr, 'rshape', ['rs'], 'r')}
    acc = ${COMBINE[op]('acc', 'x_[off_ks + off_rs]')};
  }
  y_[idx] = ${fin};`)}`,
      inputs: [x],
      outputs: [y],
      fields,
      values,
      workgroups: grid1d(p.nOut),
    });
    return y;
  }
  launch({
    op: name,
    key: `reduce:${op}:wide:k${rk}:r${rr}`,
    source: () => `${bindings(['x_'], ['y_'], 'f32', true, fields)}
var<workgroup> part: array<f32, ${WG_RED}>;
@compute @workgroup_size(${WG_RED})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = wid.x + wid.y * nwg.x;
  let in_range = idx < u.nOut; // ('active' is a reserved word in WGSL)
${stridedOffsets(rk, 'kshape', ['ks'])}
  var acc: f32 = ${INIT[op]};
  if (in_range) {
    for (var r = lid; r < u.nRed; r = r + ${WG_RED}u) {
${stridedOffsets(rr, 'rshape', ['rs'], 'r')}
      acc = ${COMBINE[op]('acc', 'x_[off_ks + off_rs]')};
    }
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = ${WG_RED / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] = ${COMBINE[op]('part[lid]', 'part[lid + s]')}; }
    workgroupBarrier();
  }
  if (lid == 0u && in_range) { let acc = part[0]; y_[idx] = ${fin}; }
}`,
    inputs: [x],
    outputs: [y],
    fields,
    values,
    workgroups: foldGroups(p.nOut),
  });
  return y;
}

function foldGroups(groups: number): [number, number, number] {
  const max = getEngine().limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1, 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y, 1];
}

/** expand(g viewed as `keepShape`) to `shape`; the view is freed (outside tidy() it would pin g's buffer). */
function expandView(g: Tensor, keepShape: readonly number[], shape: readonly number[]): Tensor {
  const v = g.view(keepShape);
  const e = expand(v, shape);
  v.dispose();
  return e;
}

export interface ReduceOptions {
  keepDims?: boolean;
}

function prepare(op: string, x: Tensor, axes: number | readonly number[] | undefined): number[] {
  requireDType(op, x, ['f32']);
  checkRank(op, x);
  return normAxes(op, axes, x.rank);
}

/** Sum over `axes` (all axes when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = prepare('sum', x, axes);
  const p = plan('sum', x, ax, Boolean(opts.keepDims));
  const y = reduceKernel('sum', 'sum', x, p, 1);
  return record('sum', [x], y, (g) => [expandView(g, p.keepShape, x.shape)]);
}

export function mean(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const ax = prepare('mean', x, axes);
  const p = plan('mean', x, ax, Boolean(opts.keepDims));
  const y = reduceKernel('sum', 'mean', x, p, 1 / p.nRed);
  return record('mean', [x], y, (g) => {
    const e = expandView(g, p.keepShape, x.shape);
    const r = affine(e, 1 / p.nRed);
    e.dispose();
    return [r];
  });
}

// amax/amin semantics: the gradient is shared equally between tied extrema.
function extremum(op: 'max' | 'min', x: Tensor, axes: number | readonly number[] | undefined, opts: ReduceOptions): Tensor {
  const ax = prepare(op, x, axes);
  const p = plan(op, x, ax, Boolean(opts.keepDims));
  const y = reduceKernel(op, op, x, p, 1);
  return record(
    op,
    [x],
    y,
    (g, [sx, sy]) => {
      const yk = sy.view(p.keepShape);
      const mask = eq(sx, yk);
      const count = reduceKernel('sum', `${op}.backward`, mask, plan(op, mask, ax, true), 1);
      const gk = g.view(p.keepShape);
      const share = div(gk, count);
      const gx = mul(mask, share);
      for (const t of [yk, gk, mask, count, share]) t.dispose();
      return [gx];
    },
    [x, y],
  );
}

export const max = (x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}) => extremum('max', x, axes, opts);
export const min = (x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}) => extremum('min', x, axes, opts);

export interface VarOptions extends ReduceOptions {
  /** Bessel's correction: 1 (PyTorch's default, unbiased) or 0 (population variance). */
  correction?: number;
}

/** Variance over axes, composed from differentiable ops (two passes: numerically safe). */
export function variance(x: Tensor, axes?: number | readonly number[], opts: VarOptions = {}): Tensor {
  const ax = prepare('var', x, axes);
  const correction = opts.correction ?? 1;
  let n = 1;
  for (const a of ax) n *= x.shape[a];
  if (n - correction <= 0) throw new Error(`var: ${n} element(s) over axes [${ax.join(', ')}] of ${formatShape(x.shape)} with correction ${correction}`);
  const m = mean(x, ax, { keepDims: true });
  const d = subFrom(x, m);
  const d2 = mul(d, d);
  const s = sum(d2, ax, { keepDims: opts.keepDims });
  const v = affine(s, 1 / (n - correction));
  for (const t of [m, d, d2, s]) t.dispose();
  return v;
}

import { sub as subFrom } from './elementwise.ts';

/** Sums a broadcast result back down to `shape` (the gradient rule of broadcasting). Always returns a new tensor. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g.view(shape);
  const lead = g.rank - shape.length;
  if (lead < 0) throw new Error(`sumTo: cannot reduce ${formatShape(g.shape)} to ${formatShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const p = plan('sumTo', g, axes, true);
  const y = reduceKernel('sum', 'sumTo', g, p, 1);
  const v = y.view(shape);
  y.dispose();
  return v;
}
