// Fused optimizer updates: one kernel per parameter per step updates the parameter and its state
// in place (no temporaries). Hyper-parameters and bias corrections travel in uniforms.
import type { Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { grid1d, launch, main1d, type UField } from './util.ts';

const ADAM_FIELDS: UField[] = [
  ['n', 'u32'],
  ['lr', 'f32'],
  ['b1', 'f32'],
  ['b2', 'f32'],
  ['eps', 'f32'],
  ['wd', 'f32'],
  ['bc1', 'f32'],
  ['bc2sqrt', 'f32'],
  ['decoupled', 'u32'],
];

export interface AdamStepParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count (bias correction). */
  step: number;
  /** AdamW: decay the weights directly instead of adding L2 to the gradient. */
  decoupled: boolean;
}

const ADAM = defineKernel(
  'optim:adam',
  () => `@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
struct U { n: u32, lr: f32, b1: f32, b2: f32, eps: f32, wd: f32, bc1: f32, bc2sqrt: f32, decoupled: u32 }
@group(0) @binding(4) var<uniform> u: U;
${main1d(`  if (idx >= u.n) { return; }
  var w = p[idx];
  var gr = g[idx];
  if (u.decoupled == 1u) { w = w * (1.0 - u.lr * u.wd); } else { gr = gr + u.wd * w; }
  let mm = u.b1 * m[idx] + (1.0 - u.b1) * gr;
  let vv = u.b2 * v[idx] + (1.0 - u.b2) * gr * gr;
  m[idx] = mm;
  v[idx] = vv;
  p[idx] = w - (u.lr / u.bc1) * mm / (sqrt(vv) / u.bc2sqrt + u.eps);`)}`,
);

/** PyTorch Adam/AdamW (amsgrad off): p, m, v are updated in place from gradient g. */
export function adamStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamStepParams): void {
  launch({
    op: h.decoupled ? 'adamw' : 'adam',
    kernel: ADAM(),
    inputs: [g],
    outputs: [p, m, v],
    fields: ADAM_FIELDS,
    values: {
      n: p.size,
      lr: h.lr,
      b1: h.beta1,
      b2: h.beta2,
      eps: h.eps,
      wd: h.weightDecay,
      bc1: 1 - h.beta1 ** h.step,
      bc2sqrt: Math.sqrt(1 - h.beta2 ** h.step),
      decoupled: h.decoupled ? 1 : 0,
    },
    workgroups: grid1d(p.size),
  });
}

const SGD_FIELDS: UField[] = [
  ['n', 'u32'],
  ['lr', 'f32'],
  ['momentum', 'f32'],
  ['dampening', 'f32'],
  ['wd', 'f32'],
  ['first', 'u32'],
  ['nesterov', 'u32'],
];

export interface SgdStepParams {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** The momentum buffer starts as the first gradient (PyTorch). */
  first: boolean;
}

const SGD = defineKernel(
  'optim:sgd',
  () => `@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> buf: array<f32>;
struct U { n: u32, lr: f32, momentum: f32, dampening: f32, wd: f32, first: u32, nesterov: u32 }
@group(0) @binding(3) var<uniform> u: U;
${main1d(`  if (idx >= u.n) { return; }
  let w = p[idx];
  var d = g[idx] + u.wd * w;
  if (u.momentum != 0.0) {
    var b = d;
    if (u.first == 0u) { b = u.momentum * buf[idx] + (1.0 - u.dampening) * d; }
    buf[idx] = b;
    if (u.nesterov == 1u) { d = d + u.momentum * b; } else { d = b; }
  } else {
    buf[idx] = buf[idx];
  }
  p[idx] = w - u.lr * d;`)}`,
);

/** PyTorch SGD with momentum: p and the momentum buffer are updated in place. */
export function sgdStep(p: Tensor, g: Tensor, buf: Tensor, h: SgdStepParams): void {
  launch({
    op: 'sgd',
    kernel: SGD(),
    inputs: [g],
    outputs: [p, buf],
    fields: SGD_FIELDS,
    values: { n: p.size, lr: h.lr, momentum: h.momentum, dampening: h.dampening, wd: h.weightDecay, first: h.first ? 1 : 0, nesterov: h.nesterov ? 1 : 0 },
    workgroups: grid1d(p.size),
  });
}
