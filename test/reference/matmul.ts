// Float64 reference for batched matmul with transposes and NumPy batch broadcasting, and its
// gradients, written straight from the definition C[b,m,n] = Σ_k op(A)[b,m,k]·op(B)[b,k,n]:
// every product term also adds its share to dA and dB, so the gradient needs no transpose algebra
// (and so checks the engine's transpose-flag algebra independently).
import { broadcastShape, sizeOf, stridesOf, unravel, type Nd } from './nd.ts';

export interface MatmulRefOptions {
  transA?: boolean;
  transB?: boolean;
}

interface Walk {
  outShape: number[];
  /** Calls f(aIndex, bIndex, cIndex) for every product term. */
  each(f: (ia: number, ib: number, ic: number) => void): void;
}

function walk(aShape: readonly number[], bShape: readonly number[], o: MatmulRefOptions): Walk {
  if (aShape.length < 2 || bShape.length < 2) throw new Error('matmulRef: inputs need rank ≥ 2');
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const M = o.transA ? ac : ar;
  const K = o.transA ? ar : ac;
  const N = o.transB ? br : bc;
  if ((o.transB ? bc : br) !== K) throw new Error('matmulRef: inner dimensions differ');
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const batch = broadcastShape(aBatch, bBatch);
  // Flat batch index of an operand at broadcast batch coordinates (size-1 dims repeat).
  const batchIndex = (shape: readonly number[], coords: readonly number[]): number => {
    const off = coords.length - shape.length;
    const st = stridesOf(shape);
    let i = 0;
    for (let d = 0; d < shape.length; d++) i += (shape[d] === 1 ? 0 : coords[off + d]) * st[d];
    return i;
  };
  return {
    outShape: [...batch, M, N],
    each(f) {
      for (let bz = 0; bz < sizeOf(batch); bz++) {
        const coords = unravel(bz, batch);
        const aBase = batchIndex(aBatch, coords) * ar * ac;
        const bBase = batchIndex(bBatch, coords) * br * bc;
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            const ic = (bz * M + m) * N + n;
            for (let k = 0; k < K; k++) {
              const ia = aBase + (o.transA ? k * ac + m : m * ac + k);
              const ib = bBase + (o.transB ? n * bc + k : k * bc + n);
              f(ia, ib, ic);
            }
          }
        }
      }
    },
  };
}

export function matmulRef(a: Nd, b: Nd, o: MatmulRefOptions = {}): Nd {
  const w = walk(a.shape, b.shape, o);
  const c = new Float64Array(sizeOf(w.outShape));
  w.each((ia, ib, ic) => {
    c[ic] += a.data[ia] * b.data[ib];
  });
  return { shape: w.outShape, data: c };
}

/** d(Σ G·C)/dA and /dB for C = matmul(A, B): the vector-Jacobian products autograd must produce. */
export function matmulGradRef(a: Nd, b: Nd, g: Nd, o: MatmulRefOptions = {}): { da: Nd; db: Nd } {
  const w = walk(a.shape, b.shape, o);
  if (g.data.length !== sizeOf(w.outShape)) throw new Error('matmulGradRef: gradient has the wrong size');
  const da = new Float64Array(a.data.length);
  const db = new Float64Array(b.data.length);
  w.each((ia, ib, ic) => {
    da[ia] += g.data[ic] * b.data[ib];
    db[ib] += g.data[ic] * a.data[ia];
  });
  return { da: { shape: [...a.shape], data: da }, db: { shape: [...b.shape], data: db } };
}
