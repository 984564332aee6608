// Backward of reductions and softmax by central differences (helpers/gradcheck.ts defaults:
// step 1e-2, rtol 1e-2, atol 2e-3) over random small shapes and axis subsets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backward, getEngine, requiresGrad, tensor, type Tensor } from '../../engine/node.ts';
import * as K from '../../kernels/index.ts';
import { runs, seed, shapeWithAxes, shapeWithAxis } from '../helpers/arbitraries.ts';
import { engineReady, useEngine } from '../helpers/engine.ts';
import { gradcheck } from '../helpers/gradcheck.ts';
import { distinctNd, randomNd } from '../reference/nd.ts';
import { reducedCount } from '../reference/reduce.ts';

useEngine();

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;

describe('reduction backward', () => {
  for (const op of ['sum', 'mean', 'max', 'min'] as const) {
    it(`${op} over random axes${op === 'max' || op === 'min' ? ' (distinct values, 0.1 apart)' : ''}`, async () => {
      await fc.assert(
        fc.asyncProperty(shapeWithAxes(1, 3, 4), seed, fc.boolean(), async ({ shape, axes, keepDims }, sd, all) => {
          const x = op === 'max' || op === 'min' ? distinctNd(shape, sd) : randomNd(shape, sd);
          const ax = all ? undefined : axes;
          await gradcheck((t) => K[op](t, ax, { keepDims }), [x], { label: `${op} ${fmt(shape)} axes ${JSON.stringify(ax)} keepDims ${keepDims}` });
        }),
        runs(8),
      );
    });
  }

  it('variance with correction 0 and 1', async () => {
    await fc.assert(
      fc.asyncProperty(shapeWithAxes(1, 3, 4), seed, fc.constantFrom(0, 1), async ({ shape, axes, keepDims }, sd, correction) => {
        fc.pre(reducedCount(shape, axes) - correction > 0);
        await gradcheck((t) => K.variance(t, axes, { keepDims, correction }), [randomNd(shape, sd)], { label: `var ${fmt(shape)} axes ${fmt(axes)} c=${correction}` });
      }),
      runs(8),
    );
  });

  it('the long-reduction (workgroup) path: sum, mean, max of [2, 600] over axis 1', async () => {
    // Few inputs but 600-long rows: the numeric side perturbs only a slice of x through concat.
    const fixed = distinctNd([2, 590], 7, 0.01);
    const fixedT = tensor(Float32Array.from(fixed.data), [2, 590]);
    for (const op of ['sum', 'mean', 'max'] as const) {
      // Perturbed values sit far above the fixed ones so they are the maxima with margin.
      const head = op === 'max' ? distinctNd([2, 10], 8).data.map((v) => v + 10) : randomNd([2, 10], 8).data;
      await gradcheck((h) => K[op](K.concat([h, fixedT], 1), 1), [{ shape: [2, 10], data: head }], { label: `${op} [2,600] axis 1` });
    }
    fixedT.dispose();
  });

  it('max/min share the gradient equally between tied extrema (amax semantics)', async () => {
    const x = requiresGrad(tensor([3, 1, 3, 2, 5, 5, 5, 0], [2, 4]));
    backward(K.sum(K.max(x, 1)));
    expect(await x.grad!.toArray()).toEqual([0.5, 0, 0.5, 0, 1 / 3, 1 / 3, 1 / 3, 0].map(Math.fround));
    x.grad!.dispose();
    x.grad = null;
    backward(K.sum(K.min(x, 0)));
    expect(await x.grad!.toArray()).toEqual([1, 1, 1, 0, 0, 0, 0, 1]);
    x.dispose();
  });
});

describe('softmax backward', () => {
  for (const op of ['softmax', 'logSoftmax'] as const) {
    it(`${op} along a random axis`, async () => {
      await fc.assert(
        fc.asyncProperty(shapeWithAxis(1, 3, 4), seed, async ({ shape, axis }, sd) => {
          await gradcheck((t) => K[op](t, axis), [randomNd(shape, sd, { lo: -3, hi: 3 })], { label: `${op} ${fmt(shape)} axis ${axis}` });
        }),
        runs(8),
      );
    });
  }
});

describe('backward frees its temporaries', async () => {
  // Outside tidy() nothing else would free them: 20 forward+backward rounds of one op, with the
  // caller disposing what it owns, must leave live bytes flat.
  await engineReady(); // the constant operands below are made while tests are collected
  const row = tensor([1, 2, 3, 4], [4]);
  const mask = tensor([1, 0, 0, 1], [4]);
  const ops: [string, (x: Tensor) => Tensor][] = [
    ['sum', (x) => K.sum(x, 1)],
    ['mean', (x) => K.mean(x, 1, { keepDims: true })],
    ['max', (x) => K.max(x, 0)],
    ['min', (x) => K.min(x)],
    ['variance', (x) => K.variance(x, 1)],
    ['softmax', (x) => K.softmax(x, 0)],
    ['logSoftmax', (x) => K.logSoftmax(x)],
    ['mul (broadcast)', (x) => K.mul(x, row)],
    ['div (broadcast)', (x) => K.div(row, x)],
    ['maximum (broadcast)', (x) => K.maximum(x, row)],
    ['where', (x) => K.where(mask, x, row)],
    ['pad', (x) => K.pad(x, [[1, 0]])],
    ['concat', (x) => K.concat([x, x], 1)],
    ['expand', (x) => K.expand(x, [2, 3, 4])],
    ['indexSelect', (x) => K.indexSelect(x, 1, [1, 1, 0])],
  ];
  for (const [name, f] of ops) {
    it(name, async () => {
      const e = getEngine();
      const x = requiresGrad(tensor(Float32Array.from({ length: 12 }, (_, i) => (i * 7) % 12), [3, 4]));
      const round = () => {
        const y = f(x);
        const g = tensor(new Float32Array(y.size).fill(1), y.shape);
        backward(y, g);
        for (const t of [y, g, x.grad!]) t.dispose();
        x.grad = null;
      };
      round();
      await e.sync();
      const before = e.memory().liveBytes;
      for (let i = 0; i < 20; i++) round();
      await e.sync();
      expect(e.memory().liveBytes - before).toBe(0);
      x.dispose();
    });
  }
});
