// LayerNorm (fused kernel) and BatchNorm (train / eval / fold) against float64 references.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keep, tensor, tidy } from '../../engine/node.ts';
import { batchNorm, foldBatchNorm, groupNorm, layerNorm, layerNormChannels, transpose, type BatchNormState } from '../../kernels/index.ts';
import { expectClose, expectTensorClose } from '../helpers/close.ts';
import { fromNd, useEngine } from '../helpers/engine.ts';
import { gradcheck } from '../helpers/gradcheck.ts';
import { runs, seed } from '../helpers/arbitraries.ts';
import { randomNd } from '../reference/nd.ts';
import { batchNormRef, groupNormRef, layerNormRef } from '../reference/norm.ts';

useEngine();
const TOL = { rtol: 1e-4, atol: 1e-5 };

describe('layerNorm', () => {
  it('matches the float64 reference over random shapes (rtol 1e-4)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 2 }), fc.integer({ min: 1, max: 150 }), seed, async (lead, C, s) => {
        const x = randomNd([...lead, C], s, { lo: -3, hi: 3 });
        const w = randomNd([C], s + 1);
        const b = randomNd([C], s + 2);
        const y = tidy(() => layerNorm(fromNd(x), fromNd(w), fromNd(b), 1e-5));
        await expectTensorClose(y, layerNormRef(x, w, b, 1e-5), TOL, `layerNorm [${x.shape}]`);
        y.dispose();
      }),
      runs(20),
    );
  });

  it('over channels of [B, C, T] equals transposing around the last-dim form', async () => {
    const x = randomNd([2, 5, 7], 3);
    const w = randomNd([5], 4);
    const b = randomNd([5], 5);
    const y = layerNormChannels(fromNd(x), fromNd(w), fromNd(b));
    const xt = transpose(fromNd(x), 1, 2);
    const ref = layerNormRef({ shape: [...xt.shape], data: Float64Array.from(await xt.data()) }, w, b, 1e-5);
    const yt = transpose(y, 1, 2);
    expectClose(await yt.data(), ref.data, TOL, 'layerNormChannels');
  });

  it('backward reaches x, weight and bias (finite differences)', async () => {
    for (const C of [1, 6, 70]) {
      await gradcheck((x, w, b) => layerNorm(x, w, b, 1e-5), [randomNd([3, C], 11 + C, { lo: -2, hi: 2 }), randomNd([C], 12), randomNd([C], 13)], { label: `layerNorm C=${C}`, atol: 5e-3 });
    }
  });

  it('names the op and the shapes when weight does not fit', () => {
    expect(() => layerNorm(tensor([1, 2, 3], [1, 3]), tensor([1, 1], [2]), tensor([0, 0], [2]))).toThrow(/layerNorm: input \[1, 3\] needs weight and bias of shape \[3\]/);
  });
});

function bnState(C: number, s: number): { st: BatchNormState; w: number[]; b: number[]; rm: number[]; rv: number[] } {
  const w = Array.from(randomNd([C], s).data);
  const b = Array.from(randomNd([C], s + 1).data);
  const rm = Array.from(randomNd([C], s + 2).data);
  const rv = Array.from(randomNd([C], s + 3, { lo: 0.5, hi: 2 }).data);
  const st: BatchNormState = {
    weight: keep(tensor(w, [C])),
    bias: keep(tensor(b, [C])),
    runningMean: keep(tensor(rm, [C])),
    runningVar: keep(tensor(rv, [C])),
    numBatchesTracked: 0,
  };
  return { st, w, b, rm, rv };
}

describe('groupNorm', () => {
  it('matches the float64 reference over random shapes and group counts (rtol 1e-4)', async () => {
    const arb = fc.record({
      B: fc.integer({ min: 1, max: 3 }),
      groups: fc.integer({ min: 1, max: 4 }),
      perGroup: fc.integer({ min: 1, max: 4 }),
      rest: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 0, maxLength: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, seed, async ({ B, groups, perGroup, rest }, s) => {
        const C = groups * perGroup;
        if (B * perGroup * rest.reduce((a, d) => a * d, 1) < 2) return; // one value per group: variance 0 only
        const x = randomNd([B, C, ...rest], s, { lo: -3, hi: 3 });
        const w = randomNd([C], s + 1);
        const b = randomNd([C], s + 2);
        const y = tidy(() => groupNorm(fromNd(x), groups, fromNd(w), fromNd(b)));
        await expectTensorClose(y, groupNormRef(x, groups, [...w.data], [...b.data], 1e-5), TOL, `groupNorm [${x.shape}] groups ${groups}`);
        y.dispose();
      }),
      runs(20),
    );
  });

  it('with groups = C equals wav2vec 2.0 base\'s per-channel normalisation over time', async () => {
    const x = randomNd([2, 4, 11], 21, { lo: -2, hi: 2 });
    const w = randomNd([4], 22);
    const b = randomNd([4], 23);
    const y = groupNorm(fromNd(x), 4, fromNd(w), fromNd(b));
    const ref = groupNormRef(x, 4, [...w.data], [...b.data], 1e-5);
    await expectTensorClose(y, ref, TOL, 'groupNorm groups = C');
    y.dispose();
  });

  it('gradients pass finite-difference checks (x, weight, bias)', async () => {
    await gradcheck((x, w, b) => groupNorm(x, 2, w, b), [randomNd([2, 4, 3], 31, { lo: -2, hi: 2 }), randomNd([4], 32), randomNd([4], 33)], { label: 'groupNorm', atol: 5e-3 });
  });

  it('names the problem for bad groups and affine shapes', () => {
    expect(() => groupNorm(fromNd(randomNd([1, 6, 3], 1)), 4, fromNd(randomNd([6], 2)), fromNd(randomNd([6], 3)))).toThrow(/groupNorm: 6 channels of \[1, 6, 3\] do not split into 4 groups/);
    expect(() => groupNorm(fromNd(randomNd([1, 6, 3], 1)), 3, fromNd(randomNd([5], 2)), fromNd(randomNd([6], 3)))).toThrow(/needs weight and bias of shape \[6\]/);
  });
});

describe('batchNorm', () => {
  it('training: batch statistics, running stats updated with momentum 0.1 and the unbiased variance', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 2 }), seed, async (B, C, extraRank, s) => {
        const shape = [B, C, ...[5, 3].slice(0, extraRank)];
        if (shape.reduce((a, d) => a * d, 1) / C < 2) return;
        const x = randomNd(shape, s, { lo: -2, hi: 3 });
        const { st, w, b, rm, rv } = bnState(C, s);
        const ref = batchNormRef(x, w, b, rm, rv, true, 0.1, 1e-5);
        await expectTensorClose(batchNorm(fromNd(x), st, true), ref.y, { rtol: 1e-4, atol: 1e-4 }, `bn train [${shape}]`);
        expectClose(await st.runningMean.data(), ref.runningMean, TOL, 'running_mean');
        expectClose(await st.runningVar.data(), ref.runningVar, TOL, 'running_var');
        expect(st.numBatchesTracked).toBe(1);
      }),
      runs(15),
    );
  });

  it('eval uses running statistics, and the fold gives the same affine map', async () => {
    const x = randomNd([2, 4, 6], 9);
    const { st, w, b, rm, rv } = bnState(4, 21);
    const ref = batchNormRef(x, w, b, rm, rv, false, 0.1, 1e-5);
    await expectTensorClose(batchNorm(fromNd(x), st, false), ref.y, TOL, 'bn eval');
    const { scale, shift } = foldBatchNorm(st);
    const sc = await scale.data();
    const sh = await shift.data();
    const folded = ref.y.data.map((_, i) => x.data[i] * sc[Math.floor(i / 6) % 4] + sh[Math.floor(i / 6) % 4]);
    expectClose(folded, ref.y.data, TOL, 'folded batchNorm');
  });

  it('backward in training mode reaches x, weight and bias (finite differences)', async () => {
    const C = 3;
    const make = (wt: ReturnType<typeof tensor>, bt: ReturnType<typeof tensor>): BatchNormState => ({
      weight: wt,
      bias: bt,
      runningMean: tensor([0, 0, 0], [C]),
      runningVar: tensor([1, 1, 1], [C]),
      numBatchesTracked: 0,
    });
    await gradcheck((x, w, b) => batchNorm(x, make(w, b), true), [randomNd([3, C, 4], 5, { lo: -2, hi: 2 }), randomNd([C], 6), randomNd([C], 7)], { label: 'batchNorm train', atol: 5e-3 });
    await gradcheck((x, w, b) => batchNorm(x, make(w, b), false), [randomNd([2, C, 3], 8), randomNd([C], 9), randomNd([C], 10)], { label: 'batchNorm eval' });
  });
});
