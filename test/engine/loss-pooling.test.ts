// Weighted cross-entropy (PyTorch's weighted-mean reduction) and pooling against float64 references.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor } from '../../engine/node.ts';
import { attentiveStatsPool, crossEntropy, meanPool } from '../../kernels/index.ts';
import { expectClose, expectTensorClose } from '../helpers/close.ts';
import { fromNd, useEngine } from '../helpers/engine.ts';
import { gradcheck } from '../helpers/gradcheck.ts';
import { runs, seed } from '../helpers/arbitraries.ts';
import { randomNd, SeededRandom } from '../reference/nd.ts';
import { astpRef, crossEntropyRef } from '../reference/loss.ts';

useEngine();

describe('crossEntropy', () => {
  it('matches PyTorch semantics with and without class weights (rtol 1e-5)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 2, max: 5 }), fc.boolean(), fc.boolean(), seed, async (N, C, weighted, summed, s) => {
        const logits = randomNd([N, C], s, { lo: -4, hi: 4 });
        const rng = new SeededRandom(s + 1);
        const labels = Array.from({ length: N }, () => Math.floor(rng.next() * C));
        const weights = weighted ? Array.from({ length: C }, () => 0.1 + rng.next()) : null;
        const reduction = summed ? 'sum' : 'mean';
        const got = await crossEntropy(fromNd(logits), labels, { classWeights: weights ?? undefined, reduction }).item();
        expectClose([got], [crossEntropyRef(logits, labels, weights, reduction)], { rtol: 1e-5, atol: 1e-6 }, 'crossEntropy');
      }),
      runs(20),
    );
  });

  it('the anti-spoofing weights [0.1, 0.9]: a hand-checked value', async () => {
    // rows: logits (0, 0) label 1, (0, ln 3) label 0 → −log ½ with weight .9 and −log ¼ with weight .1
    const got = await crossEntropy(tensor([0, 0, 0, Math.log(3)], [2, 2]), [1, 0], { classWeights: [0.1, 0.9] }).item();
    expect(got).toBeCloseTo((0.9 * Math.log(2) + 0.1 * Math.log(4)) / 1.0, 5);
  });

  it('gradient by finite differences, and clear errors for bad labels', async () => {
    await gradcheck((l) => crossEntropy(l, [1, 0, 2], { classWeights: [0.2, 1, 3] }), [randomNd([3, 3], 4)], { label: 'crossEntropy' });
    expect(() => crossEntropy(tensor([0, 0], [1, 2]), [2])).toThrow('crossEntropy: label 2 at row 0 is not a class in [0, 2)');
    expect(() => crossEntropy(tensor([0, 0], [1, 2]), [0, 1])).toThrow(/2 labels for 1 rows/);
  });
});

describe('pooling', () => {
  it('meanPool averages over time', async () => {
    await expectTensorClose(meanPool(tensor([1, 2, 3, 4, 5, 6], [1, 2, 3])), { shape: [1, 2], data: Float64Array.from([2, 5]) }, { rtol: 1e-6, atol: 0 }, 'meanPool');
  });

  it('attentiveStatsPool matches the reference for per-channel and shared attention (rtol 1e-4)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.boolean(), seed, async (B, C, T, shared, s) => {
        const x = randomNd([B, C, T], s, { lo: -2, hi: 2 });
        const lg = randomNd([B, shared ? 1 : C, T], s + 1, { lo: -2, hi: 2 });
        await expectTensorClose(attentiveStatsPool(fromNd(x), fromNd(lg)), astpRef(x, lg, 1e-7), { rtol: 1e-4, atol: 2e-4 }, 'ASTP');
      }),
      runs(15),
    );
  });

  it('attentiveStatsPool gradient by finite differences', async () => {
    await gradcheck((x, l) => attentiveStatsPool(x, l), [randomNd([2, 2, 5], 7, { lo: -1, hi: 2 }), randomNd([2, 2, 5], 8)], { label: 'ASTP', atol: 5e-3 });
  });
});
