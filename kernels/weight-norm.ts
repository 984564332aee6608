// Weight normalisation W = g·v/‖v‖ with one norm per index of `dim`, taken over all other dims
// (torch.nn.utils.weight_norm(module, dim=dim); wav2vec2's positional conv uses dim=2: one norm
// per kernel tap over [out, in/groups]). Fused: one reduction kernel and one scaling kernel
// forward, the same two backward (spec model-xlsr.md §5):
//   dg_d = ⟨G_d, u_d⟩,  dv_d = (g_d/n_d)·(G_d − u_d·dg_d),  u = v/n.
// `foldWeightNorm` is the inference path: the same forward, not recorded, computed once.
import { noGrad, record } from '../engine/autograd.ts';
import { formatShape, normAxis } from '../engine/shape.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { launch, grid1d, main1d, requireDType, type UField } from './util.ts';

const FIELDS: UField[] = [
  ['n', 'u32'],
  ['D', 'u32'],
  ['inner', 'u32'],
  ['count', 'u32'],
];
const RWG = 64;

interface Layout {
  D: number;
  inner: number;
  /** Elements per norm: size / D. */
  count: number;
}

function layoutOf(v: Tensor, dim: number): Layout {
  const D = v.shape[dim];
  const inner = v.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  return { D, inner, count: v.size / D };
}

function values(v: Tensor, l: Layout): Record<string, number> {
  return { n: v.size, D: l.D, inner: l.inner, count: l.count };
}

function decl(names: string[], out: string): string {
  const lines = names.map((n, i) => `@group(0) @binding(${i}) var<storage, read> ${n}: array<f32>;`);
  lines.push(`@group(0) @binding(${names.length}) var<storage, read_write> ${out}: array<f32>;`);
  lines.push(`struct U { n: u32, D: u32, inner: u32, count: u32, }`);
  lines.push(`@group(0) @binding(${names.length + 1}) var<uniform> u: U;`);
  return lines.join('\n');
}

const REDUCE = defineKernel('weightNorm:reduce', (p: { mode: 'norm' | 'dg' }) => {
  const names = p.mode === 'norm' ? ['V'] : ['GW', 'V', 'NRM'];
  const term = p.mode === 'norm' ? 'V[e] * V[e]' : 'GW[e] * V[e]';
  const finish = p.mode === 'norm' ? 'sqrt(part[0])' : 'part[0] / NRM[d]';
  return `${decl(names, 'OUT')}
var<workgroup> part: array<f32, ${RWG}>;
@compute @workgroup_size(${RWG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let d = wid.x;
  var acc = 0.0;
  for (var j = lid.x; j < u.count; j = j + ${RWG}u) {
    let e = (j / u.inner) * u.D * u.inner + d * u.inner + j % u.inner;
    acc = acc + ${term};
  }
  part[lid.x] = acc;
  workgroupBarrier();
  for (var h = ${RWG / 2}u; h > 0u; h = h / 2u) {
    if (lid.x < h) { part[lid.x] = part[lid.x] + part[lid.x + h]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { OUT[d] = ${finish}; }
}`;
});

/**
 * One workgroup per index d of `dim`: 'norm' gives ‖v_d‖; 'dg' gives ⟨G_d, v_d⟩/n_d.
 * Deterministic (fixed per-thread strides and a fixed tree), no atomics.
 */
function reducePerIndex(mode: 'norm' | 'dg', inputs: Tensor[], l: Layout, v: Tensor): Tensor {
  const op = mode === 'dg' ? 'weightNorm.backward' : 'weightNorm';
  const out = allocate([l.D], 'f32', op, engineOf(op, inputs));
  launch({
    op,
    kernel: REDUCE({ mode }),
    inputs,
    outputs: [out],
    fields: FIELDS,
    values: values(v, l),
    workgroups: [l.D, 1, 1],
  });
  return out;
}

const SCALE = defineKernel('weightNorm:scale', (p: { mode: 'apply' | 'dv' }) => {
  const names = p.mode === 'apply' ? ['V', 'GN', 'NRM'] : ['V', 'GN', 'NRM', 'GW', 'DG'];
  const expr = p.mode === 'apply' ? 'V[idx] * GN[d] / NRM[d]' : '(GN[d] / NRM[d]) * (GW[idx] - (V[idx] / NRM[d]) * DG[d])';
  return `${decl(names, 'OUT')}
${main1d(`  if (idx >= u.n) { return; }
  let d = (idx / u.inner) % u.D;
  OUT[idx] = ${expr};`)}`;
});

/** Elementwise pass: 'apply' W = v·g/n; 'dv' dv = (g/n)·(G − (v/n)·dg). */
function elementwise(mode: 'apply' | 'dv', inputs: Tensor[], l: Layout, v: Tensor): Tensor {
  const op = mode === 'apply' ? 'weightNorm' : 'weightNorm.backward';
  const out = allocate(v.shape, 'f32', op, engineOf(op, inputs));
  launch({
    op,
    kernel: SCALE({ mode }),
    inputs,
    outputs: [out],
    fields: FIELDS,
    values: values(v, l),
    workgroups: grid1d(v.size),
  });
  return out;
}

function check(g: Tensor, v: Tensor, dim: number): { dim: number; l: Layout } {
  requireDType('weightNorm', g, ['f32'], 'g');
  requireDType('weightNorm', v, ['f32'], 'v');
  const d = normAxis('weightNorm', dim, v.rank);
  const l = layoutOf(v, d);
  const gOk = g.rank === v.rank && g.shape.every((s, i) => s === (i === d ? l.D : 1));
  if (!gOk && !(g.rank === 1 && g.shape[0] === l.D)) {
    const want = v.shape.map((s, i) => (i === d ? s : 1));
    throw new Error(`weightNorm: g must be ${formatShape(want)} (or [${l.D}]) for v ${formatShape(v.shape)} with dim=${dim}, got ${formatShape(g.shape)}`);
  }
  if (l.D > 65535) throw new Error(`weightNorm: ${l.D} norms along dim ${dim} exceed 65,535 workgroups`);
  return { dim: d, l };
}

function forward(g: Tensor, v: Tensor, dim: number): { w: Tensor; norms: Tensor; l: Layout } {
  const { l } = check(g, v, dim);
  const norms = reducePerIndex('norm', [v], l, v);
  return { w: elementwise('apply', [v, g, norms], l, v), norms, l };
}

/** W = g·v/‖v‖ (norm over all dims but `dim`), differentiable in g and v. */
export function weightNorm(g: Tensor, v: Tensor, dim = 2): Tensor {
  const { w, norms, l } = forward(g, v, dim);
  const out = record(
    'weightNorm',
    [g, v],
    w,
    (gw, [sg, sv, sn]) => {
      const dg = reducePerIndex('dg', [gw, sv, sn], l, sv);
      const dv = v.requiresGrad ? elementwise('dv', [sv, sg, sn, gw, dg], l, sv) : null;
      const dgOut = g.requiresGrad ? dg.view(g.shape) : null;
      dg.dispose();
      return [dgOut, dv];
    },
    [g, v, norms],
  );
  norms.dispose(); // the tape holds its own reference
  return out;
}

/** The folded weight for inference: g·v/‖v‖ computed once, not recorded. */
export function foldWeightNorm(g: Tensor, v: Tensor, dim = 2): Tensor {
  return noGrad(() => {
    const { w, norms } = forward(g, v, dim);
    norms.dispose();
    return w;
  });
}
