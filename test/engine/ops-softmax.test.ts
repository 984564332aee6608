// Softmax and log-softmax along any axis against float64 references, including large offsets
// (stability: the row maximum is subtracted) and −∞ entries (masked attention scores).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor } from '../../engine/node.ts';
import * as K from '../../kernels/index.ts';
import { runs, seed, shapeWithAxis } from '../helpers/arbitraries.ts';
import { EXACT, expectOpClose, type Tolerance } from '../helpers/close.ts';
import { fromNd, useEngine } from '../helpers/engine.ts';
import { map, nd, randomNd } from '../reference/nd.ts';
import * as R from '../reference/softmax.ts';

useEngine();

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;

// exp(x − max) with |x − max| ≤ 20 is within 3 + 2·20 ulp (WGSL), ~3e-6 relative; a log-softmax
// value is x − max − log(Σ), absolute error ~1e-6 for values of that size.
const TOL: Record<'softmax' | 'logSoftmax', Tolerance> = {
  softmax: { rtol: 1e-5, atol: 1e-7 },
  logSoftmax: { rtol: 1e-5, atol: 1e-5 },
};

describe('softmax and logSoftmax along any axis', () => {
  for (const op of ['softmax', 'logSoftmax'] as const) {
    it(`${op} (rtol ${TOL[op].rtol}, atol ${TOL[op].atol}), values offset by up to ±1000`, async () => {
      await fc.assert(
        fc.asyncProperty(shapeWithAxis(1, 4), seed, fc.constantFrom(0, 1000, -1000), async ({ shape, axis }, sd, offset) => {
          const x = map(randomNd(shape, sd, { lo: -10, hi: 10 }), (v) => Math.fround(v + offset));
          await expectOpClose(() => K[op](fromNd(x), axis), R[op](x, axis), TOL[op], `${op} ${fmt(shape)} axis ${axis} offset ${offset}`);
        }),
        runs(20),
      );
    });
  }

  it('gives masked (−∞) entries probability 0 and the default axis is the last', async () => {
    const x = nd([2, 4], [1, -Infinity, 3, -Infinity, -Infinity, 0.5, -Infinity, -Infinity]);
    await expectOpClose(() => K.softmax(fromNd(x)), R.softmax(x, -1), TOL.softmax, 'softmax with −∞');
    await expectOpClose(() => K.logSoftmax(fromNd(x)), R.logSoftmax(x, -1), TOL.logSoftmax, 'logSoftmax with −∞');
  });

  it('handles empty tensors and refuses a scalar', async () => {
    for (const s of [[0, 3], [3, 0], [2, 0, 4]]) {
      const x = randomNd(s, 1);
      await expectOpClose(() => K.softmax(fromNd(x), 1), R.softmax(x, 1), EXACT, `softmax ${fmt(s)}`);
    }
    const t = tensor([1], []);
    expect(() => K.softmax(t)).toThrow(/softmax: needs at least one dimension, got a scalar/);
    t.dispose();
  });
});
