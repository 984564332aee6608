// Float64 references for conv1d (PyTorch semantics) and fairseq weight norm, written straight from
// the definitions: every product term of the convolution sum also adds its share to dx, dw and
// dbias, so the gradients need no transposed-convolution algebra and check the kernels independently.
import type { Nd } from './nd.ts';

export interface Conv1dRefOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  /** Output frames dropped at the end. */
  trimEnd?: number;
}

interface Walk {
  outShape: number[];
  /** Calls f(xIndex, wIndex, yIndex, o) for every product term inside the input. */
  each(f: (ix: number, iw: number, iy: number, o: number) => void): void;
}

function walk(xShape: readonly number[], wShape: readonly number[], o: Conv1dRefOptions): Walk {
  const [B, Cin, L] = xShape;
  const [Cout, Cing, K] = wShape;
  const s = o.stride ?? 1;
  const p = o.padding ?? 0;
  const d = o.dilation ?? 1;
  const G = o.groups ?? 1;
  if (Cin !== Cing * G || Cout % G !== 0) throw new Error('conv1dRef: channel counts do not match groups');
  const Lout = Math.floor((L + 2 * p - d * (K - 1) - 1) / s) + 1 - (o.trimEnd ?? 0);
  if (Lout < 1) throw new Error('conv1dRef: no output frames');
  const Coutg = Cout / G;
  return {
    outShape: [B, Cout, Lout],
    each(f) {
      for (let b = 0; b < B; b++) {
        for (let oc = 0; oc < Cout; oc++) {
          const grp = Math.floor(oc / Coutg);
          for (let t = 0; t < Lout; t++) {
            const iy = (b * Cout + oc) * Lout + t;
            for (let i = 0; i < Cing; i++) {
              for (let k = 0; k < K; k++) {
                const pos = t * s + k * d - p;
                if (pos < 0 || pos >= L) continue;
                f((b * Cin + grp * Cing + i) * L + pos, (oc * Cing + i) * K + k, iy, oc);
              }
            }
          }
        }
      }
    },
  };
}

export function conv1dRef(x: Nd, w: Nd, bias: Nd | null, o: Conv1dRefOptions = {}): Nd {
  const wk = walk(x.shape, w.shape, o);
  const [B, Cout, Lout] = wk.outShape;
  const y = new Float64Array(B * Cout * Lout);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias.data[Math.floor(i / Lout) % Cout];
  wk.each((ix, iw, iy) => {
    y[iy] += x.data[ix] * w.data[iw];
  });
  return { shape: wk.outShape, data: y };
}

/** The vector-Jacobian products of Σ dy·conv1d(x, w, bias). */
export function conv1dGradRef(x: Nd, w: Nd, dy: Nd, o: Conv1dRefOptions = {}): { dx: Nd; dw: Nd; db: Nd } {
  const wk = walk(x.shape, w.shape, o);
  const [, Cout, Lout] = wk.outShape;
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(w.data.length);
  const db = new Float64Array(Cout);
  for (let i = 0; i < dy.data.length; i++) db[Math.floor(i / Lout) % Cout] += dy.data[i];
  wk.each((ix, iw, iy) => {
    dx[ix] += dy.data[iy] * w.data[iw];
    dw[iw] += dy.data[iy] * x.data[ix];
  });
  return { dx: { shape: [...x.shape], data: dx }, dw: { shape: [...w.shape], data: dw }, db: { shape: [Cout], data: db } };
}

/** Index of dim `dim` for each flat index of `shape`. */
function dimIndex(shape: readonly number[], dim: number): (flat: number) => number {
  const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  return (flat) => Math.floor(flat / inner) % shape[dim];
}

/** W = g·v/‖v‖, the norm over every dim except `dim` (torch weight_norm with that dim). */
export function weightNormRef(g: Nd, v: Nd, dim: number): { w: Nd; norms: Float64Array } {
  const D = v.shape[dim];
  const at = dimIndex(v.shape, dim);
  const norms = new Float64Array(D);
  v.data.forEach((x, i) => (norms[at(i)] += x * x));
  for (let k = 0; k < D; k++) norms[k] = Math.sqrt(norms[k]);
  const w = v.data.map((x, i) => (g.data[at(i)] * x) / norms[at(i)]);
  return { w: { shape: [...v.shape], data: w }, norms };
}

/** dg_k = ⟨G_k, u_k⟩ and dv_k = (g_k/n_k)(G_k − u_k·dg_k), u = v/n (spec model-xlsr.md §5). */
export function weightNormGradRef(g: Nd, v: Nd, gradW: Nd, dim: number): { dg: Nd; dv: Nd } {
  const { norms } = weightNormRef(g, v, dim);
  const at = dimIndex(v.shape, dim);
  const dg = new Float64Array(g.data.length);
  v.data.forEach((x, i) => (dg[at(i)] += (gradW.data[i] * x) / norms[at(i)]));
  const dv = v.data.map((x, i) => {
    const k = at(i);
    return (g.data[k] / norms[k]) * (gradW.data[i] - (x / norms[k]) * dg[k]);
  });
  return { dg: { shape: [...g.shape], data: dg }, dv: { shape: [...v.shape], data: dv } };
}
