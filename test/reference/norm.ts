// Float64 references for LayerNorm and BatchNorm (PyTorch semantics).
import { nd, sizeOf, type Nd } from './nd.ts';

/** LayerNorm over the last dim: (x − μ)/√(σ² + eps)·w + b with the biased variance. */
export function layerNormRef(x: Nd, w: Nd, b: Nd, eps: number): Nd {
  const C = x.shape[x.shape.length - 1];
  const out = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length / C; r++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x.data[r * C + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x.data[r * C + c] - m) ** 2;
    v /= C;
    const inv = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < C; c++) out[r * C + c] = (x.data[r * C + c] - m) * inv * w.data[c] + b.data[c];
  }
  return nd(x.shape, out);
}

export interface BnRef {
  y: Nd;
  runningMean: number[];
  runningVar: number[];
}

/** BatchNorm over axis 1 of [B, C, ...]; training uses batch statistics and updates running ones. */
export function batchNormRef(x: Nd, w: number[], b: number[], rm: number[], rv: number[], training: boolean, momentum: number, eps: number): BnRef {
  const [B, C] = x.shape;
  const inner = sizeOf(x.shape.slice(2));
  const at = (bi: number, c: number, i: number) => (bi * C + c) * inner + i;
  const y = new Float64Array(x.data.length);
  const nrm = [...rm];
  const nrv = [...rv];
  const n = B * inner;
  for (let c = 0; c < C; c++) {
    let m = 0;
    let v = 0;
    if (training) {
      for (let bi = 0; bi < B; bi++) for (let i = 0; i < inner; i++) m += x.data[at(bi, c, i)];
      m /= n;
      for (let bi = 0; bi < B; bi++) for (let i = 0; i < inner; i++) v += (x.data[at(bi, c, i)] - m) ** 2;
      nrm[c] = (1 - momentum) * rm[c] + momentum * m;
      nrv[c] = (1 - momentum) * rv[c] + (momentum * v) / (n - 1);
      v /= n;
    } else {
      m = rm[c];
      v = rv[c];
    }
    const inv = 1 / Math.sqrt(v + eps);
    for (let bi = 0; bi < B; bi++) for (let i = 0; i < inner; i++) y[at(bi, c, i)] = (x.data[at(bi, c, i)] - m) * inv * w[c] + b[c];
  }
  return { y: nd(x.shape, y), runningMean: nrm, runningVar: nrv };
}

/** GroupNorm over [B, C, ...]: each of `groups` channel groups normalised over its channels and positions. */
export function groupNormRef(x: Nd, groups: number, w: number[], b: number[], eps: number): Nd {
  const [B, C] = x.shape;
  const inner = sizeOf(x.shape.slice(2));
  const per = (C / groups) * inner;
  const y = new Float64Array(x.data.length);
  for (let bi = 0; bi < B; bi++)
    for (let g = 0; g < groups; g++) {
      const start = (bi * C + g * (C / groups)) * inner;
      let m = 0;
      for (let i = 0; i < per; i++) m += x.data[start + i];
      m /= per;
      let v = 0;
      for (let i = 0; i < per; i++) v += (x.data[start + i] - m) ** 2;
      const inv = 1 / Math.sqrt(v / per + eps);
      for (let i = 0; i < per; i++) {
        const c = g * (C / groups) + Math.floor(i / inner);
        y[start + i] = (x.data[start + i] - m) * inv * w[c] + b[c];
      }
    }
  return nd(x.shape, y);
}
