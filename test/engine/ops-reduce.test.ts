// Reductions (sum, mean, max, min, variance) over random axis subsets against float64
// references, on both kernel paths (one thread per output; one workgroup per long reduction).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor, tidy } from '../../engine/node.ts';
import * as K from '../../kernels/index.ts';
import { runs, seed, shapeWithAxes } from '../helpers/arbitraries.ts';
import { EXACT, expectClose, expectOpClose, type Tolerance } from '../helpers/close.ts';
import { fromNd, useEngine } from '../helpers/engine.ts';
import { randomNd, type Nd } from '../reference/nd.ts';
import * as R from '../reference/reduce.ts';

useEngine();

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;

// Values lie in [-2, 2). A float32 sum of n terms may be off by ~n·2^-24·Σ|x| in the worst case:
// the tolerance allows 2.5e-7·n·max|x| absolute (mean: divided by n) on top of rtol 1e-6.
// max/min pick an input, so they must match exactly.
const sumTol = (n: number): Tolerance => ({ rtol: 1e-6, atol: 5e-7 * Math.max(1, n) });
const meanTol = (): Tolerance => ({ rtol: 1e-6, atol: 5e-7 });

type Red = 'sum' | 'mean' | 'max' | 'min';
const TOL: Record<Red, (n: number) => Tolerance> = { sum: sumTol, mean: meanTol, max: () => EXACT, min: () => EXACT };

/** Axes given as undefined (all), a single number, or a list. */
function axesArg(axes: number[], all: boolean): number | number[] | undefined {
  if (all) return undefined;
  return axes.length === 1 ? axes[0] : axes;
}

describe('reductions over any axes, keepDims or not', () => {
  for (const op of ['sum', 'mean', 'max', 'min'] as const) {
    it(`${op} matches the float64 reference (${op === 'max' || op === 'min' ? 'exact' : 'rtol 1e-6, atol ∝ count'})`, async () => {
      await fc.assert(
        fc.asyncProperty(shapeWithAxes(1, 4), seed, fc.boolean(), async ({ shape, axes, keepDims }, sd, all) => {
          const x = randomNd(shape, sd);
          const ax = axesArg(axes, all);
          const refAxes = ax === undefined ? undefined : typeof ax === 'number' ? [ax] : ax;
          const ref = R[op](x, refAxes, { keepDims });
          const n = R.reducedCount(shape, refAxes);
          await expectOpClose(() => K[op](fromNd(x), ax, { keepDims }), ref, TOL[op](n), `${op} ${fmt(shape)} axes ${JSON.stringify(ax)} keepDims ${keepDims}`);
        }),
        runs(20),
      );
    });
  }

  it('sum and max at ranks 5..8', async () => {
    await fc.assert(
      fc.asyncProperty(shapeWithAxes(5, 8, 3), seed, async ({ shape, axes, keepDims }, sd) => {
        const x = randomNd(shape, sd);
        const n = R.reducedCount(shape, axes);
        await expectOpClose(() => K.sum(fromNd(x), axes, { keepDims }), R.sum(x, axes, { keepDims }), sumTol(n), `sum ${fmt(shape)} axes ${fmt(axes)}`);
        await expectOpClose(() => K.max(fromNd(x), axes, { keepDims }), R.max(x, axes, { keepDims }), EXACT, `max ${fmt(shape)} axes ${fmt(axes)}`);
      }),
      runs(6),
    );
  });

  it('variance with correction 0 and 1 (rtol 1e-5, atol 1e-6)', async () => {
    await fc.assert(
      fc.asyncProperty(shapeWithAxes(1, 4), seed, fc.constantFrom(0, 1), async ({ shape, axes, keepDims }, sd, correction) => {
        const n = R.reducedCount(shape, axes);
        fc.pre(n - correction > 0);
        const x = randomNd(shape, sd);
        const ref = R.variance(x, axes, { keepDims, correction });
        await expectOpClose(() => K.variance(fromNd(x), axes, { keepDims, correction }), ref, { rtol: 1e-5, atol: 1e-6 }, `var ${fmt(shape)} axes ${fmt(axes)} c=${correction}`);
      }),
      runs(15),
    );
  });

  it('reduces a rank-0 tensor to itself, and over an empty axis list to a copy', async () => {
    const s = randomNd([], 3);
    const x = randomNd([2, 3], 4);
    for (const op of ['sum', 'mean', 'max', 'min'] as const) {
      await expectOpClose(() => K[op](fromNd(s)), s, EXACT, `${op} of a scalar`);
      await expectOpClose(() => K[op](fromNd(x), []), x, EXACT, `${op} over no axes`);
    }
  });
});

describe('long reductions (workgroup tree path) and edge sizes', () => {
  const cases: [number[], number[] | undefined][] = [
    [[3, 1000], [1]], // contiguous rows
    [[1000, 3], [0]], // strided columns
    [[17, 61], undefined], // all axes, odd sizes
    [[2, 700, 3], [0, 1]], // non-adjacent kept/reduced mix
    [[5, 4, 129], [0, 2]],
  ];
  for (const [shape, axes] of cases) {
    it(`sum, mean, max, min, var of ${fmt(shape)} over ${axes ? fmt(axes) : 'all'}`, async () => {
      const x = randomNd(shape, shape.length * 7 + shape[0]);
      const n = R.reducedCount(shape, axes);
      for (const op of ['sum', 'mean', 'max', 'min'] as const) {
        await expectOpClose(() => K[op](fromNd(x), axes), R[op](x, axes), TOL[op](n), `${op} ${fmt(shape)}`);
      }
      await expectOpClose(() => K.variance(fromNd(x), axes), R.variance(x, axes), { rtol: 1e-5, atol: 1e-6 }, `var ${fmt(shape)}`);
    });
  }

  it('max/min of all-negative and all-equal rows (initial values must not leak in)', async () => {
    const neg = { shape: [2, 600], data: Float64Array.from({ length: 1200 }, (_, i) => -1e30 - i * 1e24) };
    const flat: Nd = { shape: [3, 5], data: new Float64Array(15).fill(7) };
    for (const x of [neg, flat]) {
      for (const op of ['max', 'min'] as const) {
        await expectOpClose(() => K[op](fromNd(x), -1), R[op]({ shape: x.shape, data: x.data.map(Math.fround) }, [-1]), EXACT, `${op} ${fmt(x.shape)}`);
      }
    }
  });

  it('0-size kept dims give an empty result; reducing over an empty axis is an error', async () => {
    const x = randomNd([0, 3], 1);
    await expectOpClose(() => K.sum(fromNd(x), 1), R.sum(x, [1]), EXACT, 'sum [0,3] axis 1');
    const t = fromNd(x);
    expect(() => K.sum(t, 0)).toThrow(/sum: cannot reduce over empty axes of \[0, 3\]/);
    expect(() => K.max(t)).toThrow(/max: cannot reduce over empty axes/);
    expect(() => K.sum(t, 2)).toThrow(/sum: axis 2 is out of range for rank 2/);
    expect(() => K.variance(fromNd(randomNd([1, 3], 2)), 0)).toThrow(/var: 1 element\(s\) over axes \[0\].*correction 1/);
    t.dispose();
  });

  it('one output per thread past 65,535 × 64 outputs (folded 2-D grid)', async () => {
    const rows = 65535 * 64 + 97;
    const xs = new Float32Array(rows * 2);
    for (let i = 0; i < xs.length; i++) xs[i] = (i % 31) - 15;
    const y = tidy(() => K.sum(tensor(xs, [rows, 2]), 1));
    const got = await y.data();
    y.dispose();
    const want = new Float64Array(rows);
    for (let r = 0; r < rows; r++) want[r] = xs[2 * r] + xs[2 * r + 1];
    expectClose(got, want, EXACT, 'sum of [rows, 2] over axis 1');
  });
});
