// Softmax and log-softmax along one axis, numerically stable (max subtracted), with fused
// backward kernels. Rows are made contiguous first when the axis is not the last.
import { record } from '../engine/autograd.ts';
import { normAxis } from '../engine/shape.ts';
import { allocate, type Tensor } from '../engine/tensor.ts';
import { bindings, grid1d, launch, main1d, requireDType, type UField } from './util.ts';
import { transpose } from './layout.ts';

const FIELDS: UField[] = [['rows', 'u32'], ['len', 'u32']];

function rowKernel(op: string, key: string, inputs: Tensor[], out: Tensor, body: string, len: number): void {
  const rows = out.size / len;
  const names = inputs.map((_, i) => `in${i}`);
  launch({
    op,
    key,
    source: () => `${bindings(names, ['out'], 'f32', true, FIELDS)}
${main1d(`  if (idx >= u.rows) { return; }
  let base = idx * u.len;
${body}`)}`,
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
  const y = allocate(x.shape, 'f32', kind);
  if (y.size > 0 && len > 0) rowKernel(kind, `${kind}:fwd`, [x], y, FORWARD[kind], len);
  return record(
    kind,
    [x],
    y,
    (g, [sy]) => {
      const dx = allocate(sy.shape, 'f32', `${kind}.backward`);
      if (dx.size > 0) rowKernel(`${kind}.backward`, `${kind}:bwd`, [sy, g], dx, BACKWARD[kind], len);
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
