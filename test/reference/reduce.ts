// Float64 references for reductions over any set of axes (kernels/reduce.ts).
import { filled, sizeOf, unravel, type Nd } from './nd.ts';

export interface ReduceRefOptions {
  keepDims?: boolean;
}

function normAxes(axes: readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  return [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((x, y) => x - y);
}

/** Folds every group of elements that share their kept coordinates, then applies `finish`. */
function reduceWith(x: Nd, axes: readonly number[] | undefined, o: ReduceRefOptions, fold: (vals: number[]) => number): Nd {
  const ax = normAxes(axes, x.shape.length);
  const keepShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const groups: number[][] = Array.from({ length: sizeOf(keepShape) }, () => []);
  for (let i = 0; i < x.data.length; i++) {
    const c = unravel(i, x.shape).map((v, d) => (ax.includes(d) ? 0 : v));
    let k = 0;
    for (let d = 0; d < c.length; d++) k = k * keepShape[d] + c[d];
    groups[k].push(x.data[i]);
  }
  const outShape = o.keepDims ? keepShape : x.shape.filter((_, i) => !ax.includes(i));
  return filled(outShape, (_, flat) => fold(groups[flat]));
}

const total = (v: number[]) => v.reduce((a, b) => a + b, 0);

export const sum = (x: Nd, axes?: readonly number[], o: ReduceRefOptions = {}) => reduceWith(x, axes, o, total);
export const mean = (x: Nd, axes?: readonly number[], o: ReduceRefOptions = {}) => reduceWith(x, axes, o, (v) => total(v) / v.length);
export const max = (x: Nd, axes?: readonly number[], o: ReduceRefOptions = {}) => reduceWith(x, axes, o, (v) => Math.max(...v));
export const min = (x: Nd, axes?: readonly number[], o: ReduceRefOptions = {}) => reduceWith(x, axes, o, (v) => Math.min(...v));

export function variance(x: Nd, axes?: readonly number[], o: ReduceRefOptions & { correction?: number } = {}): Nd {
  const c = o.correction ?? 1;
  return reduceWith(x, axes, o, (v) => {
    const m = total(v) / v.length;
    return total(v.map((a) => (a - m) ** 2)) / (v.length - c);
  });
}

/** Number of elements folded into each output (for tolerance scaling). */
export function reducedCount(shape: readonly number[], axes?: readonly number[]): number {
  return normAxes(axes, shape.length).reduce((a, d) => a * shape[d], 1);
}
