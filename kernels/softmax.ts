// Softmax and log-softmax along one axis, numerically stable (max subtracted), with fused
// backward kernels. Rows are made contiguous first when the axis is not the last.
import { record } from '../engine/autograd.ts';
import { normAxis } from '../engine/shape.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { bindings, grid1d, launch, main1d, requireDType, type UField } from './util.ts';
import { transpose } from './layout.ts';

const FIELDS: UField[] = [['rows', 'u32'], ['len', 'u32']];

type Kind = 'softmax' | 'logSoftmax';

const ROW = defineKernel('softmax:row', (p: { kind: Kind; backward: boolean }) => {
  const names = p.backward ? ['in0', 'in1'] : ['in0'];
  return `${bindings(names, ['out'], 'f32', true, FIELDS)}
${main1d(`  if (idx >= u.rows) { return; }
  let base = idx * u.len;
${(p.backward ? BACKWARD : FORWARD)[p.kind]}`)}`;
});

function rowKernel(op: string, kind: Kind, backward: boolean, inputs: Tensor[], out: Tensor, len: number): void {
  const rows = out.size / len;
  launch({
    op,
    kernel: ROW({ kind, backward }),
    inputs,
    outputs: [out],
    fields: FIELDS,
    values: { rows, len },
    workgroups: grid1d(rows),
  });
}

const FORWARD: Record<'softmax' | 'logSoftmax', string> = {
  softmax: `  var m = -3.402823466e38;
  for (var i = 0u; i < u.len; i = i + 1u) { m = max(m, in0[base + i]); }
  var s = 0.0;
  for (var i = 0u; i < u.len; i = i + 1u) { let e = exp(in0[base + i] - m); out[base + i] = e; s = s + e; }
  let inv = 1.0 / s;
  for (var i = 0u; i < u.len; i = i + 1u) { out[base + i] = out[base + i] * inv; }`,
  logSoftmax: `  var m = -3.402823466e38;
  for (var i = 0u; i < u.len; i = i + 1u) { m = max(m, in0[base + i]); }
  var s = 0.0;
  for (var i = 0u; i < u.len; i = i + 1u) { s = s + exp(in0[base + i] - m); }
  let ls = log(s);
  // (x − m) − log s, not x − (m + log s): the latter rounds at the magnitude of m (|m| = 1000 loses ~6e-5).
  for (var i = 0u; i < u.len; i = i + 1u) { out[base + i] = (in0[base + i] - m) - ls; }`,
};

// in0 = y (the forward output), in1 = g.
const BACKWARD: Record<'softmax' | 'logSoftmax', string> = {
  softmax: `  var d = 0.0;
  for (var i = 0u; i < u.len; i = i + 1u) { d = d + in0[base + i] * in1[base + i]; }
  for (var i = 0u; i < u.len; i = i + 1u) { out[base + i] = in0[base + i] * (in1[base + i] - d); }`,
  logSoftmax: `  var d = 0.0;
  for (var i = 0u; i < u.len; i = i + 1u) { d = d + in1[base + i]; }
  for (var i = 0u; i < u.len; i = i + 1u) { out[base + i] = in1[base + i] - exp(in0[base + i]) * d; }`,
};

function lastAxis(kind: 'softmax' | 'logSoftmax', x: Tensor): Tensor {
  const len = x.shape[x.rank - 1];
  const y = allocate(x.shape, 'f32', kind, engineOf(kind, [x]));
  if (y.size > 0 && len > 0) rowKernel(kind, kind, false, [x], y, len);
  return record(
    kind,
    [x],
    y,
    (g, [sy]) => {
      const op = `${kind}.backward`;
      const dx = allocate(sy.shape, 'f32', op, engineOf(op, [sy, g]));
      if (dx.size > 0) rowKernel(op, kind, true, [sy, g], dx, len);
      return [dx];
    },
    [y],
  );
}

function alongAxis(kind: 'softmax' | 'logSoftmax', x: Tensor, axis: number): Tensor {
  requireDType(kind, x, ['f32']);
  if (x.rank === 0) throw new Error(`${kind}: needs at least one dimension, got a scalar`);
  const ax = normAxis(kind, axis, x.rank);
  if (ax === x.rank - 1) return lastAxis(kind, x);
  const t = transpose(x, ax, -1);
  const y = lastAxis(kind, t);
  const out = transpose(y, ax, -1);
  t.dispose();
  y.dispose();
  return out;
}

export const softmax = (x: Tensor, axis = -1) => alongAxis('softmax', x, axis);
export const logSoftmax = (x: Tensor, axis = -1) => alongAxis('logSoftmax', x, axis);
