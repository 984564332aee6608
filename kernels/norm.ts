// Normalisation layers. LayerNorm is one fused kernel per direction (one workgroup per row, the
// statistics kept in f32 and saved for backward). BatchNorm is composed from reductions: its cost
// is small next to the convolutions around it, and composition gives its backward for free.
import { noGrad, record } from '../engine/autograd.ts';
import { tidy } from '../engine/scope.ts';
import { formatShape } from '../engine/shape.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { launch, requireDType, type UField } from './util.ts';
import { add, affine, mul, rsqrt, sub } from './elementwise.ts';
import { mean, sum, variance } from './reduce.ts';
import { reshape, transpose } from './layout.ts';
import { assign } from './assign.ts';

const WGN = 64;
const LN_FIELDS: UField[] = [['rows', 'u32'], ['C', 'u32'], ['eps', 'f32']];


const REDUCE_WGSL = `
var<workgroup> red: array<f32, ${WGN}>;
fn wgSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WGN / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

const ENTRY = `@compute @workgroup_size(${WGN})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  let live = row < u.rows;
  let base = min(row, u.rows - 1u) * u.C;`;

function lnForwardSource(): string {
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
struct U { rows: u32, C: u32, eps: f32 }
@group(0) @binding(5) var<uniform> u: U;
${REDUCE_WGSL}
${ENTRY}
  var s = 0.0;
  for (var c = lid; c < u.C; c = c + ${WGN}u) { s = s + x[base + c]; }
  let mu = wgSum(s, lid) / f32(u.C);
  var q = 0.0;
  for (var c = lid; c < u.C; c = c + ${WGN}u) { let d = x[base + c] - mu; q = q + d * d; }
  let rstd = inverseSqrt(wgSum(q, lid) / f32(u.C) + u.eps);
  if (!live) { return; }
  for (var c = lid; c < u.C; c = c + ${WGN}u) { y[base + c] = (x[base + c] - mu) * rstd * w[c] + b[c]; }
  if (lid == 0u) { stats[2u * row] = mu; stats[2u * row + 1u] = rstd; }
}`;
}

// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·w; also writes dy·x̂ for the weight gradient.
function lnBackwardSource(): string {
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> dyxh: array<f32>;
struct U { rows: u32, C: u32, eps: f32 }
@group(0) @binding(6) var<uniform> u: U;
${REDUCE_WGSL}
${ENTRY}
  let r = min(row, u.rows - 1u);
  let mu = stats[2u * r];
  let rstd = stats[2u * r + 1u];
  var s1 = 0.0;
  var s2 = 0.0;
  for (var c = lid; c < u.C; c = c + ${WGN}u) {
    let xh = (x[base + c] - mu) * rstd;
    let gh = dy[base + c] * w[c];
    s1 = s1 + gh;
    s2 = s2 + gh * xh;
  }
  let m1 = wgSum(s1, lid) / f32(u.C);
  let m2 = wgSum(s2, lid) / f32(u.C);
  if (!live) { return; }
  for (var c = lid; c < u.C; c = c + ${WGN}u) {
    let xh = (x[base + c] - mu) * rstd;
    let g = dy[base + c];
    dx[base + c] = rstd * (g * w[c] - m1 - xh * m2);
    dyxh[base + c] = g * xh;
  }
}`;
}

const LN_FORWARD = defineKernel('layernorm:fwd', lnForwardSource);
const LN_BACKWARD = defineKernel('layernorm:bwd', lnBackwardSource);

/** LayerNorm over the last dimension with affine weight and bias (PyTorch nn.LayerNorm). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  for (const [t, n] of [[x, 'input'], [weight, 'weight'], [bias, 'bias']] as const) requireDType(op, t, ['f32'], n);
  const C = x.shape[x.rank - 1];
  if (x.rank < 1 || weight.size !== C || bias.size !== C || weight.rank !== 1 || bias.rank !== 1) {
    throw new Error(`${op}: input ${formatShape(x.shape)} needs weight and bias of shape [${C}], got ${formatShape(weight.shape)} and ${formatShape(bias.shape)}`);
  }
  const rows = x.size / C;
  const engine = engineOf(op, [x, weight, bias]);
  const y = allocate(x.shape, 'f32', op, engine);
  const stats = allocate([rows, 2], 'f32', op, engine);
  if (rows > 0 && C > 0) {
    // One workgroup per row.
    launch({ op, kernel: LN_FORWARD(), inputs: [x, weight, bias], outputs: [y, stats], fields: LN_FIELDS, values: { rows, C, eps }, workgroups: { fold: rows } });
  }
  const out = record(
    op,
    [x, weight, bias],
    y,
    (g, [sx, sw, sst]) => {
      const bop = `${op}.backward`;
      const dx = allocate(sx.shape, 'f32', bop, engineOf(bop, [sx, g]));
      const dyxh = allocate(sx.shape, 'f32', bop, engineOf(bop, [sx, g]));
      if (rows > 0 && C > 0) {
        launch({
          op: bop,
          kernel: LN_BACKWARD(),
          inputs: [sx, sw, sst, g],
          outputs: [dx, dyxh],
          fields: LN_FIELDS,
          values: { rows, C, eps },
          workgroups: { fold: rows },
        });
      }
      const g2 = g.view([rows, C]);
      const d2 = dyxh.view([rows, C]);
      const dw = weight.requiresGrad ? sum(d2, 0) : null;
      const db = bias.requiresGrad ? sum(g2, 0) : null;
      for (const t of [g2, d2, dyxh]) t.dispose();
      return [dx, dw, db];
    },
    [x, weight, stats],
  );
  stats.dispose();
  return out;
}

/** LayerNorm over the channels of [B, C, T] (fairseq's Fp32LayerNorm between two transposes). */
export function layerNormChannels(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  if (x.rank !== 3) throw new Error(`layerNormChannels: expects [B, C, T], got ${formatShape(x.shape)}`);
  return tidy(() => transpose(layerNorm(transpose(x, 1, 2), weight, bias, eps), 1, 2));
}

// ---------------------------------------------------------------- GroupNorm

/**
 * GroupNorm over [B, C, ...] (PyTorch nn.GroupNorm; wav2vec 2.0's `group_norm` feature encoder with
 * groups = C): channels split into `groups` groups, each normalised over its channels and positions
 * with the biased variance, then a per-channel affine. Composed from reductions (backward for free).
 */
export function groupNorm(x: Tensor, groups: number, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const op = 'groupNorm';
  for (const [t, n] of [[x, 'input'], [weight, 'weight'], [bias, 'bias']] as const) requireDType(op, t, ['f32'], n);
  if (x.rank < 2) throw new Error(`${op}: expects [B, C, ...], got ${formatShape(x.shape)}`);
  const [B, C] = x.shape;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) {
    throw new Error(`${op}: ${C} channels of ${formatShape(x.shape)} do not split into ${groups} groups`);
  }
  if (weight.size !== C || bias.size !== C) {
    throw new Error(`${op}: input ${formatShape(x.shape)} needs weight and bias of shape [${C}], got ${formatShape(weight.shape)} and ${formatShape(bias.shape)}`);
  }
  const per = x.size / (B * groups);
  return tidy(() => {
    const xg = reshape(x, [B, groups, per]);
    const mu = mean(xg, [2], { keepDims: true });
    const v = variance(xg, [2], { keepDims: true, correction: 0 });
    const xh = reshape(mul(sub(xg, mu), rsqrt(affine(v, 1, eps))), x.shape);
    const cs = channelShape(x, C);
    return add(mul(xh, reshape(weight, cs)), reshape(bias, cs));
  });
}

// ---------------------------------------------------------------- BatchNorm

export interface BatchNormState {
  weight: Tensor;
  bias: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
  /** Updates of the running statistics counted so far (PyTorch's num_batches_tracked). */
  numBatchesTracked: number;
  momentum?: number;
  eps?: number;
}

function channelShape(x: Tensor, C: number): number[] {
  return x.shape.map((d, i) => (i === 1 ? C : 1));
}

/**
 * BatchNorm over channel axis 1 of [B, C], [B, C, T] or [B, C, H, W] (BatchNorm1d/2d).
 * Training: batch statistics (biased variance) normalise, and the running statistics move by
 * `momentum` toward the batch mean and the unbiased batch variance. Eval: running statistics.
 */
export function batchNorm(x: Tensor, s: BatchNormState, training: boolean): Tensor {
  const op = 'batchNorm';
  requireDType(op, x, ['f32']);
  if (x.rank < 2) throw new Error(`${op}: expects [B, C, ...], got ${formatShape(x.shape)}`);
  const C = x.shape[1];
  for (const [t, n] of [[s.weight, 'weight'], [s.bias, 'bias'], [s.runningMean, 'running_mean'], [s.runningVar, 'running_var']] as const) {
    if (t.size !== C) throw new Error(`${op}: ${n} has shape ${formatShape(t.shape)}, expected [${C}] for input ${formatShape(x.shape)}`);
  }
  const eps = s.eps ?? 1e-5;
  const momentum = s.momentum ?? 0.1;
  const cs = channelShape(x, C);
  const count = x.size / C;
  if (training && count < 2) throw new Error(`${op}: training needs more than one value per channel, got input ${formatShape(x.shape)}`);
  return tidy(() => {
    const w = reshape(s.weight, cs);
    const b = reshape(s.bias, cs);
    if (!training) {
      // y = (x − running_mean)·w/√(running_var + eps) + b, with w and b still in the graph.
      const inv = noGrad(() => rsqrt(affine(s.runningVar, 1, eps)).view(cs));
      const rm = s.runningMean.view(cs);
      return add(mul(sub(x, rm), mul(w, inv)), b);
    }
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const mu = mean(x, axes, { keepDims: true });
    const v = variance(x, axes, { keepDims: true, correction: 0 });
    const y = add(mul(mul(sub(x, mu), rsqrt(affine(v, 1, eps))), w), b);
    noGrad(() => {
      const nm = add(affine(s.runningMean, 1 - momentum), affine(mu.view([C]), momentum));
      const nv = add(affine(s.runningVar, 1 - momentum), affine(v.view([C]), (momentum * count) / (count - 1)));
      assign(s.runningMean, nm);
      assign(s.runningVar, nv);
    });
    s.numBatchesTracked++;
    return y;
  });
}

/** Inference fold: BatchNorm(x) = x·scale + shift per channel, scale = w/√(running_var + eps), shift = b − running_mean·scale. */
export function foldBatchNorm(s: BatchNormState): { scale: Tensor; shift: Tensor } {
  return noGrad(() =>
    tidy(() => {
      const scale = mul(s.weight, rsqrt(affine(s.runningVar, 1, s.eps ?? 1e-5)));
      const shift = sub(s.bias, mul(s.runningMean, scale));
      return { scale, shift };
    }),
  );
}
