// Backward of layout ops and casts by central differences (helpers/gradcheck.ts defaults:
// step 1e-2, rtol 1e-2, atol 2e-3), and indexSelect's scatter-add against its reference.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backward, requiresGrad, tensor } from '../../engine/node.ts';
import * as K from '../../kernels/index.ts';
import { expandable, runs, seed, shape, shapeWithAxis } from '../helpers/arbitraries.ts';
import { EXACT, expectClose } from '../helpers/close.ts';
import { useEngine } from '../helpers/engine.ts';
import { gradcheck } from '../helpers/gradcheck.ts';
import * as L from '../reference/layout.ts';
import { randomNd } from '../reference/nd.ts';

useEngine();

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;
const small = (minRank = 0) => shape(minRank, 3, 4);

describe('layout backward', () => {
  it('reshape, clone and a same-dtype cast pass the gradient through', async () => {
    await fc.assert(
      fc.asyncProperty(small(), seed, async (s, sd) => {
        const x = randomNd(s, sd);
        await gradcheck((t) => K.reshape(t, [-1]), [x], { label: `reshape ${fmt(s)}` });
        await gradcheck((t) => K.clone(t), [x], { label: `clone ${fmt(s)}` });
        await gradcheck((t) => K.cast(t, 'f32'), [x], { label: `cast f32 ${fmt(s)}` });
      }),
      runs(4),
    );
  });

  it('permute and transpose', async () => {
    const arb = small(1).chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length })));
    await fc.assert(
      fc.asyncProperty(arb, seed, async ([s, perm], sd) => {
        const x = randomNd(s, sd);
        await gradcheck((t) => K.permute(t, perm), [x], { label: `permute ${fmt(s)} ${fmt(perm)}` });
        if (s.length >= 2) await gradcheck((t) => K.transpose(t, 0, -1), [x], { label: `transpose ${fmt(s)}` });
      }),
      runs(6),
    );
  });

  it('slice', async () => {
    const arb = shapeWithAxis(1, 3, 5).chain(({ shape: s, axis }) => {
      const len = s[axis < 0 ? axis + s.length : axis];
      return fc.tuple(fc.constant(s), fc.constant(axis), fc.integer({ min: 0, max: len }), fc.integer({ min: 0, max: len }));
    });
    await fc.assert(
      fc.asyncProperty(arb, seed, async ([s, axis, p, q], sd) => {
        const [start, end] = p <= q ? [p, q] : [q, p];
        await gradcheck((t) => K.slice(t, axis, start, end), [randomNd(s, sd)], { label: `slice ${fmt(s)} axis ${axis} [${start}, ${end})` });
      }),
      runs(6),
    );
  });

  it('concat routes each slice of the gradient to its input', async () => {
    const arb = shapeWithAxis(1, 3, 4).chain(({ shape: s, axis }) =>
      fc.tuple(fc.constant(s), fc.constant(axis), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 })),
    );
    await fc.assert(
      fc.asyncProperty(arb, seed, async ([s, axis, sizes], sd) => {
        const ax = axis < 0 ? axis + s.length : axis;
        const parts = sizes.map((n, k) => randomNd(s.map((d, i) => (i === ax ? n : d)), sd + k));
        await gradcheck((...ts) => K.concat(ts, axis), parts, { label: `concat ${fmt(sizes)} along ${axis} of ${fmt(s)}` });
      }),
      runs(6),
    );
  });

  it('pad', async () => {
    const arb = small(1).chain((s) =>
      fc.tuple(fc.constant(s), fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), { minLength: 0, maxLength: s.length })),
    );
    await fc.assert(
      fc.asyncProperty(arb, seed, async ([s, pads], sd) => {
        await gradcheck((t) => K.pad(t, pads, 1.5), [randomNd(s, sd)], { label: `pad ${fmt(s)} ${JSON.stringify(pads)}` });
      }),
      runs(6),
    );
  });

  it('expand sums the gradient over broadcast dims', async () => {
    await fc.assert(
      fc.asyncProperty(expandable(3, 4), seed, async ([sx, target], sd) => {
        await gradcheck((t) => K.expand(t, target), [randomNd(sx, sd)], { label: `expand ${fmt(sx)} → ${fmt(target)}` });
      }),
      runs(6),
    );
  });

  it('indexSelect (host and tensor indices, repeats) scatter-adds the gradient', async () => {
    const arb = shapeWithAxis(1, 3, 4).chain(({ shape: s, axis }) => {
      const len = s[axis < 0 ? axis + s.length : axis];
      return fc.tuple(fc.constant(s), fc.constant(axis), fc.array(fc.integer({ min: 0, max: len - 1 }), { minLength: 1, maxLength: 6 }));
    });
    await fc.assert(
      fc.asyncProperty(arb, seed, async ([s, axis, idx], sd) => {
        const x = randomNd(s, sd);
        const label = `indexSelect ${fmt(s)} axis ${axis} ${fmt(idx)}`;
        const host = await gradcheck((t) => K.indexSelect(t, axis, idx), [x], { label });
        expectClose(host.analytic[0], L.indexSelectGrad(s, axis, idx, host.weights).data, { rtol: 1e-6, atol: 1e-6 }, `${label}: scatter-add reference`);
        const idxT = tensor(Int32Array.from(idx), [idx.length], 'i32');
        await gradcheck((t) => K.indexSelect(t, axis, idxT), [x], { label: `${label} (tensor)` });
        idxT.dispose();
      }),
      runs(6),
    );
  });

  it('a cast to an integer dtype cuts the tape', () => {
    const x = requiresGrad(tensor([1.5, 2.5], [2]));
    const i = K.cast(x, 'i32');
    expect(i.requiresGrad).toBe(false);
    expect(() => backward(K.sum(K.cast(i, 'f32')))).toThrow(/no autograd tape/);
    for (const t of [x, i]) t.dispose();
  });
});

describe('gradients of composed ops match exact values', () => {
  it('d/dx Σ w·pad(slice(x)) is w restricted to the kept window', async () => {
    const x = randomNd([3, 5], 1);
    const r = await gradcheck((t) => K.pad(K.slice(t, 1, 1, 4), [[0, 0], [2, 1]]), [x]);
    const w = r.weights; // shape [3, 6]: columns 2..4 come from x columns 1..3
    const want = new Float64Array(15);
    for (let i = 0; i < 3; i++) for (let j = 1; j < 4; j++) want[i * 5 + j] = w.data[i * 6 + j + 1];
    expectClose(r.analytic[0], want, EXACT, 'pad∘slice gradient');
  });
});
