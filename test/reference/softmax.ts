// Float64 references for softmax and log-softmax along one axis (kernels/softmax.ts).
import { ravel, unravel, type Nd } from './nd.ts';

function alongAxis(x: Nd, axis: number, row: (v: number[]) => number[]): Nd {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const out = new Float64Array(x.data.length);
  const len = x.shape[ax];
  for (let i = 0; i < x.data.length; i++) {
    const c = unravel(i, x.shape);
    if (c[ax] !== 0) continue; // visit each row once, from its first element
    const idx = Array.from({ length: len }, (_, k) => ravel(c.map((v, d) => (d === ax ? k : v)), x.shape));
    const r = row(idx.map((j) => x.data[j]));
    idx.forEach((j, k) => (out[j] = r[k]));
  }
  return { shape: [...x.shape], data: out };
}

function logSumExp(v: number[]): number {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((a, x) => a + Math.exp(x - m), 0));
}

export const softmax = (x: Nd, axis = -1): Nd =>
  alongAxis(x, axis, (v) => {
    const lse = logSumExp(v);
    return v.map((a) => Math.exp(a - lse));
  });

export const logSoftmax = (x: Nd, axis = -1): Nd =>
  alongAxis(x, axis, (v) => {
    const lse = logSumExp(v);
    return v.map((a) => a - lse);
  });
