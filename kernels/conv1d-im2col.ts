// The baseline conv1d: explicit im2col into col[B, G, Cing·K, Lout], then one batched matmul per
// (batch, group); backward through matmuls and col2im. It materialises Cing·K·Lout floats per
// (batch, group) — the memory cost the implicit kernels avoid — and serves as the comparison in
// `spoofscan bench conv` and as an independent cross-check in tests.
import { noGrad, record } from '../engine/autograd.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { add } from './elementwise.ts';
import { matmulRaw } from './matmul.ts';
import { conv1dTextureForward, convTexturePlan } from './conv1d-texture.ts';
import { sum } from './reduce.ts';
import { bindings, grid1d, launch, main1d, type UField } from './util.ts';
import type { ConvGeometry } from './conv1d-kernels.ts';

const FIELDS: UField[] = [
  ['n', 'u32'],
  ['Cin', 'u32'],
  ['L', 'u32'],
  ['Lout', 'u32'],
  ['K', 'u32'],
  ['Cing', 'u32'],
  ['stride', 'u32'],
  ['dil', 'u32'],
  ['pad', 'u32'],
];

function values(g: ConvGeometry, n: number): Record<string, number> {
  return { n, Cin: g.Cin, L: g.L, Lout: g.Lout, K: g.K, Cing: g.Cing, stride: g.stride, dil: g.dilation, pad: g.padding };
}

const IM2COL = defineKernel(
  'conv1d:im2col',
  () => `${bindings(['X'], ['C'], 'f32', true, FIELDS)}
${main1d(`  if (idx >= u.n) { return; }
  let t = idx % u.Lout;
  let r = idx / u.Lout;
  let k = r % u.K;
  let bc = r / u.K;
  let pos = i32(t * u.stride + k * u.dil) - i32(u.pad);
  var v = 0.0;
  if (pos >= 0 && pos < i32(u.L)) { v = X[bc * u.L + u32(pos)]; }
  C[idx] = v;`)}`,
);

/** col[b, grp, i·K + k, t] = x[b, grp·Cing + i, t·s + k·d − p] (zero outside the input). */
export function im2col(g: ConvGeometry, x: Tensor): Tensor {
  const col = allocate([g.B, g.groups, g.Cing * g.K, g.Lout], 'f32', 'im2col', engineOf('im2col', [x]));
  // The flat index over [B, G, Cing, K, Lout] equals the flat index over [B, Cin, K, Lout].
  launch({
    op: 'im2col',
    kernel: IM2COL(),
    inputs: [x],
    outputs: [col],
    fields: FIELDS,
    values: values(g, col.size),
    workgroups: grid1d(col.size),
  });
  return col;
}

const COL2IM = defineKernel(
  'conv1d:col2im',
  () => `${bindings(['C'], ['DX'], 'f32', true, FIELDS)}
${main1d(`  if (idx >= u.n) { return; }
  let pos = idx % u.L;
  let bc = idx / u.L;
  var acc = 0.0;
  for (var k = 0u; k < u.K; k = k + 1u) {
    let q = i32(pos + u.pad) - i32(k * u.dil);
    if (q < 0 || q % i32(u.stride) != 0) { continue; }
    let t = u32(q) / u.stride;
    if (t < u.Lout) { acc = acc + C[(bc * u.K + k) * u.Lout + t]; }
  }
  DX[idx] = acc;`)}`,
);

/** The adjoint of im2col: dx[b, c, u] = Σ over (k, t) with t·s + k·d − p = u of dcol[b, c, k, t]. */
export function col2im(g: ConvGeometry, dcol: Tensor): Tensor {
  const dx = allocate([g.B, g.Cin, g.L], 'f32', 'col2im', engineOf('col2im', [dcol]));
  launch({
    op: 'col2im',
    kernel: COL2IM(),
    inputs: [dcol],
    outputs: [dx],
    fields: FIELDS,
    values: values(g, dx.size),
    workgroups: grid1d(dx.size),
  });
  return dx;
}

/**
 * y [B, Cout, Lout] without bias: im2col then one batched matmul, or, where the engine's matmul would take
 * the texture kernel (llvmpipe), the columns gathered straight into its texture (kernels/conv1d-texture.ts).
 */
function forwardProduct(g: ConvGeometry, x: Tensor, w: Tensor, wg: Tensor): Tensor {
  const engine = engineOf('conv1d', [x, w]);
  const plan = convTexturePlan(g, engine, false);
  if (plan) {
    const y = allocate([g.B, g.Cout, g.Lout], 'f32', 'conv1d', engine);
    if (y.size > 0) conv1dTextureForward(engine, g, x, w, y, plan);
    return y;
  }
  const col = im2col(g, x);
  const y4 = matmulRaw(wg, col); // [B, G, Coutg, Lout]
  col.dispose();
  const y = y4.view([g.B, g.Cout, g.Lout]);
  y4.dispose();
  return y;
}

/** conv1d through im2col + matmul, differentiable in x, w and bias (shapes already checked). */
export function conv1dIm2col(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  const CK = g.Cing * g.K;
  const wg = w.view([g.groups, g.Coutg, CK]);
  let y = forwardProduct(g, x, w, wg);
  if (bias) {
    const bv = bias.view([g.Cout, 1]);
    const yb = noGrad(() => add(y, bv)); // recorded below as part of conv1d
    for (const t of [y, bv]) t.dispose();
    y = yb;
  }
  wg.dispose();
  return record(
    'conv1d',
    bias ? [x, w, bias] : [x, w],
    y,
    (dy, [sx, sw]) => {
      const dy4 = dy.view([g.B, g.groups, g.Coutg, g.Lout]);
      const w3 = sw.view([g.groups, g.Coutg, CK]);
      let dx: Tensor | null = null;
      let dw: Tensor | null = null;
      if (x.requiresGrad) {
        const dcol = matmulRaw(w3, dy4, { transA: true });
        dx = col2im(g, dcol);
        dcol.dispose();
      }
      if (w.requiresGrad) {
        const c = im2col(g, sx);
        const per = matmulRaw(dy4, c, { transB: true }); // [B, G, Coutg, CK]
        const s = g.B > 1 ? sum(per, 0) : per.view(per.shape);
        dw = s.view([g.Cout, g.Cing, g.K]);
        for (const t of [c, per, s]) t.dispose();
      }
      const db = bias?.requiresGrad ? sum(dy, [0, 2]) : null;
      dy4.dispose();
      w3.dispose();
      return [dx, dw, db];
    },
    [x, w],
  );
}
