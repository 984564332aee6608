// Backward of every elementwise op: central differences (see helpers/gradcheck.ts, rtol 1e-2,
// atol 2e-3, step 1e-2) over random small shapes, plus, for unary ops, the exact derivative.
// Inputs stay away from kinks and poles by more than the step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backward, requiresGrad, tensor, type Tensor } from '../../engine/node.ts';
import * as K from '../../kernels/index.ts';
import { broadcastShapes, runs, seed, shape } from '../helpers/arbitraries.ts';
import { expectClose } from '../helpers/close.ts';
import { fromNd, useEngine } from '../helpers/engine.ts';
import { gradcheck } from '../helpers/gradcheck.ts';
import * as R from '../reference/elementwise.ts';
import { map, randomNd, type ValueOptions } from '../reference/nd.ts';

useEngine();

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;
const small = shape(0, 3, 4);

const UNARY: [R.UnaryName, ValueOptions][] = [
  ['neg', {}],
  ['exp', { lo: -3, hi: 3 }],
  ['log', { lo: 0.3, hi: 5 }],
  ['sqrt', { lo: 0.3, hi: 5 }],
  ['rsqrt', { lo: 0.3, hi: 5 }],
  ['abs', { awayFromZero: 0.05 }],
  ['tanh', { lo: -3, hi: 3 }],
  ['sigmoid', { lo: -5, hi: 5 }],
  ['relu', { awayFromZero: 0.05 }],
  ['gelu', { lo: -4, hi: 4 }],
  ['selu', { lo: -3, hi: 3, awayFromZero: 0.05 }],
];

describe('unary backward', () => {
  for (const [name, values] of UNARY) {
    it(`${name}: finite differences, and w·f′(x) within rtol 1e-5`, async () => {
      const op = K[name] as (x: Tensor) => Tensor;
      await fc.assert(
        fc.asyncProperty(small, seed, async (s, sd) => {
          const x = randomNd(s, sd, values);
          const label = `${name} ${fmt(s)}`;
          const { analytic, weights } = await gradcheck((t) => op(t), [x], { label, seed: sd });
          const exact = x.data.map((v, i) => weights.data[i] * R.unaryDerivRef[name](v));
          expectClose(analytic[0], exact, { rtol: 1e-5, atol: 1e-6 }, `${label}: analytic vs exact derivative`);
        }),
        runs(5),
      );
    });
  }

  it('affine, mulScalar, addScalar', async () => {
    await fc.assert(
      fc.asyncProperty(small, seed, fc.double({ min: -3, max: 3, noNaN: true }), async (s, sd, a) => {
        const x = randomNd(s, sd);
        await gradcheck((t) => K.affine(t, a, 0.5), [x], { label: `affine ${fmt(s)} a=${a}` });
        await gradcheck((t) => K.mulScalar(t, a), [x], { label: `mulScalar ${fmt(s)} a=${a}` });
        await gradcheck((t) => K.addScalar(t, a), [x], { label: `addScalar ${fmt(s)} b=${a}` });
      }),
      runs(4),
    );
  });

  it('powScalar: positive bases with any exponent, negative bases with integer exponents', async () => {
    await fc.assert(
      fc.asyncProperty(small, seed, fc.constantFrom(-1.5, -1, 0.5, 2, 2.5, 3), async (s, sd, p) => {
        await gradcheck((t) => K.powScalar(t, p), [randomNd(s, sd, { lo: 0.5, hi: 3 })], { label: `powScalar ${fmt(s)} p=${p}` });
        if (Number.isInteger(p)) {
          await gradcheck((t) => K.powScalar(t, p), [randomNd(s, sd, { lo: -3, hi: -0.5 })], { label: `powScalar negative base ${fmt(s)} p=${p}` });
        }
      }),
      runs(5),
    );
  });
});

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
// For maximum/minimum, a takes even and b odd multiples of 0.1: never closer than 0.1 (> 2·step).
const tenths = (parity: 0 | 1) => (v: number) => Math.fround((2 * Math.round(v * 5) + parity) / 10);
const BINARY: [BinaryName, ValueOptions, ValueOptions, ((v: number) => number)?, ((v: number) => number)?][] = [
  ['add', {}, {}],
  ['sub', {}, {}],
  ['mul', {}, {}],
  ['div', {}, { awayFromZero: 0.5 }],
  ['pow', { lo: 0.5, hi: 3 }, { lo: -2, hi: 2 }],
  ['maximum', {}, {}, tenths(0), tenths(1)],
  ['minimum', {}, {}, tenths(0), tenths(1)],
];

describe('binary backward reduces broadcast gradients to each input shape', () => {
  for (const [name, va, vb, fa, fb] of BINARY) {
    it(name, async () => {
      const op = K[name] as (a: Tensor | number, b: Tensor | number) => Tensor;
      await fc.assert(
        fc.asyncProperty(broadcastShapes(2, 3, 4), seed, async ([sa, sb], sd) => {
          const a = fa ? map(randomNd(sa, sd, va), fa) : randomNd(sa, sd, va);
          const b = fb ? map(randomNd(sb, sd + 1, vb), fb) : randomNd(sb, sd + 1, vb);
          await gradcheck((x, y) => op(x, y), [a, b], { label: `${name} ${fmt(sa)} ${fmt(sb)}` });
          // One side constant (a tensor without requiresGrad, or a number): only the other gets a gradient.
          const bConst = fromNd(b);
          await gradcheck((x) => op(x, bConst), [a], { label: `${name} ${fmt(sa)} with constant b` });
          bConst.dispose();
          await gradcheck((y) => op(0.25, y), [b], { label: `${name} number, ${fmt(sb)}` }); // 0.25: no tie with tenths
        }),
        runs(6),
      );
    });
  }

  it('maximum/minimum split the gradient equally on ties (torch.maximum)', async () => {
    for (const op of [K.maximum, K.minimum]) {
      const a = requiresGrad(tensor([1, 2, 3], [3]));
      const b = requiresGrad(tensor([1, 0, 5], [3]));
      backward(K.sum(op(a, b)));
      const ga = await a.grad!.toArray();
      const gb = await b.grad!.toArray();
      expect(ga[0]).toBe(0.5);
      expect(gb[0]).toBe(0.5);
      expect(ga[1] + gb[1]).toBe(1);
      expect(ga[2] + gb[2]).toBe(1);
      for (const t of [a, b, a.grad!, b.grad!]) t.dispose();
    }
  });

  it('comparisons are not differentiable: their masks carry no tape', () => {
    const a = requiresGrad(tensor([1, 2], [2]));
    for (const op of [K.eq, K.ne, K.lt, K.le, K.gt, K.ge]) {
      const m = op(a, 1.5);
      expect(m.requiresGrad).toBe(false);
      m.dispose();
    }
    a.dispose();
  });
});

describe('where and maskedFill backward', () => {
  it('where routes the gradient to the chosen side, summed over broadcasting', async () => {
    await fc.assert(
      fc.asyncProperty(broadcastShapes(3, 3, 4), seed, async ([sc, sa, sb], sd) => {
        const cond = fromNd(randomNd(sc, sd, { lo: 0, hi: 2, integer: true }));
        await gradcheck((a, b) => K.where(cond, a, b), [randomNd(sa, sd + 1), randomNd(sb, sd + 2)], { label: `where ${fmt(sc)} ${fmt(sa)} ${fmt(sb)}` });
        await gradcheck((a) => K.where(cond, a, -2), [randomNd(sa, sd + 1)], { label: `where ${fmt(sc)} ${fmt(sa)} number` });
        cond.dispose();
      }),
      runs(6),
    );
  });

  it('maskedFill passes the gradient where the mask is 0', async () => {
    await fc.assert(
      fc.asyncProperty(broadcastShapes(2, 3, 4), seed, async ([sx, sm], sd) => {
        const mask = fromNd(randomNd(sm, sd, { lo: 0, hi: 2, integer: true }));
        await gradcheck((x) => K.maskedFill(x, mask, -1e4), [randomNd(sx, sd + 1)], { label: `maskedFill ${fmt(sx)} ${fmt(sm)}` });
        mask.dispose();
      }),
      runs(6),
    );
  });
});
