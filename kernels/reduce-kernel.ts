// The reduction kernel itself (one thread per output, or one workgroup per output for long reductions) and
// sumTo, the gradient rule of broadcasting. Split from reduce.ts so that elementwise.ts and layout.ts can
// use sumTo without importing reduce.ts, which builds its gradients from elementwise and layout ops.
import { formatShape, shapesEqual, stridesOf } from '../engine/shape.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { bindings, collapseDims, grid1d, launch, main1d, stridedOffsets, type UField } from './util.ts';

export type RedOp = 'sum' | 'max' | 'min';
const INIT: Record<RedOp, string> = { sum: '0.0', max: '-3.402823466e38', min: '3.402823466e38' };
const COMBINE: Record<RedOp, (a: string, b: string) => string> = {
  sum: (a, b) => `${a} + ${b}`,
  max: (a, b) => `max(${a}, ${b})`,
  min: (a, b) => `min(${a}, ${b})`,
};
const WG_RED = 64;

export interface Plan {
  outShape: number[];
  keepShape: number[];
  nOut: number;
  nRed: number;
  kShape: number[];
  kStrides: number[];
  rShape: number[];
  rStrides: number[];
}

export function plan(op: string, x: Tensor, axes: number[], keepDims: boolean): Plan {
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

function reduceFields(rk: number, rr: number): UField[] {
  return [
    ['nOut', 'u32'],
    ['nRed', 'u32'],
    ['scale', 'f32'],
    ['kshape', 'arr', rk],
    ['ks', 'arr', rk],
    ['rshape', 'arr', rr],
    ['rs', 'arr', rr],
  ];
}

interface ReduceParams {
  op: RedOp;
  /** Ranks of the kept and the reduced index spaces. */
  rk: number;
  rr: number;
}

const finish = (op: RedOp): string => (op === 'sum' ? 'acc * u.scale' : 'acc');

/** One thread per output. */
const NARROW = defineKernel(
  'reduce:narrow',
  ({ op, rk, rr }: ReduceParams) => `${bindings(['x_'], ['y_'], 'f32', true, reduceFields(rk, rr))}
${main1d(`  if (idx >= u.nOut) { return; }
${stridedOffsets(rk, 'kshape', ['ks'])}
  var acc: f32 = ${INIT[op]};
  for (var r = 0u; r < u.nRed; r = r + 1u) {
${stridedOffsets(rr, 'rshape', ['rs'], 'r')}
    acc = ${COMBINE[op]('acc', 'x_[off_ks + off_rs]')};
  }
  y_[idx] = ${finish(op)};`)}`,
);

/** One workgroup per output (long reductions). */
const WIDE = defineKernel(
  'reduce:wide',
  ({ op, rk, rr }: ReduceParams) => `${bindings(['x_'], ['y_'], 'f32', true, reduceFields(rk, rr))}
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
  if (lid == 0u && in_range) { let acc = part[0]; y_[idx] = ${finish(op)}; }
}`,
);

export function reduceKernel(op: RedOp, name: string, x: Tensor, p: Plan, scale: number): Tensor {
  const y = allocate(p.outShape, 'f32', name, engineOf(name, [x]));
  if (p.nOut === 0) return y;
  const rk = p.kShape.length;
  const rr = p.rShape.length;
  const wide = p.nRed >= 512 && p.nOut <= 8192;
  launch({
    op: name,
    kernel: (wide ? WIDE : NARROW)({ op, rk, rr }),
    inputs: [x],
    outputs: [y],
    fields: reduceFields(rk, rr),
    values: { nOut: p.nOut, nRed: p.nRed, scale, kshape: p.kShape, ks: p.kStrides, rshape: p.rShape, rs: p.rStrides },
    workgroups: wide ? { fold: p.nOut } : grid1d(p.nOut),
  });
  return y;
}

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
