// Elementwise ops against float64 references: unary math, scalar ops, binary ops with
// broadcasting and number operands, comparisons, where/maskedFill, empty and very large tensors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor, tidy, type Tensor } from '../../engine/node.ts';
import * as K from '../../kernels/index.ts';
import { broadcastShapes, runs, seed, shape } from '../helpers/arbitraries.ts';
import { EXACT, expectClose, expectOpClose, type Tolerance } from '../helpers/close.ts';
import { fromNd, useEngine } from '../helpers/engine.ts';
import * as R from '../reference/elementwise.ts';
import { nd, randomNd, toF32, type Nd, type ValueOptions } from '../reference/nd.ts';

useEngine();

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;

interface UnaryCase {
  name: R.UnaryName;
  values: ValueOptions;
  tol: Tolerance;
}

// Tolerances: EXACT means bit-equal to the float64 result rounded to float32 (one IEEE rounding); transcendental ones follow WGSL's accuracy (exp: 3 + 2|x|
// ulp, log: 2^-21 absolute near 1, inverseSqrt: 2 ulp) and the kernels' formulas (tanh and selu
// lose absolute accuracy to 1 − e^x near 0; GELU's erf is accurate to ~1.2e-7 absolute).
const UNARY_CASES: UnaryCase[] = [
  { name: 'neg', values: { lo: -5, hi: 5 }, tol: EXACT },
  { name: 'abs', values: { lo: -5, hi: 5 }, tol: EXACT },
  { name: 'relu', values: { lo: -5, hi: 5 }, tol: EXACT },
  { name: 'exp', values: { lo: -10, hi: 10 }, tol: { rtol: 5e-6, atol: 0 } },
  { name: 'log', values: { lo: 0.01, hi: 100 }, tol: { rtol: 1e-6, atol: 1e-6 } },
  { name: 'sqrt', values: { lo: 0, hi: 100 }, tol: { rtol: 1e-6, atol: 0 } },
  { name: 'rsqrt', values: { lo: 0.01, hi: 100 }, tol: { rtol: 1e-6, atol: 0 } },
  { name: 'tanh', values: { lo: -10, hi: 10 }, tol: { rtol: 1e-6, atol: 1e-6 } },
  { name: 'sigmoid', values: { lo: -20, hi: 20 }, tol: { rtol: 1e-5, atol: 1e-7 } },
  { name: 'gelu', values: { lo: -8, hi: 8 }, tol: { rtol: 1e-6, atol: 1e-6 } },
  { name: 'selu', values: { lo: -10, hi: 5 }, tol: { rtol: 1e-6, atol: 1e-6 } },
];

describe('unary ops match float64 references over random shapes (rank 0..4)', () => {
  for (const c of UNARY_CASES) {
    it(`${c.name} (rtol ${c.tol.rtol}, atol ${c.tol.atol})`, async () => {
      const op = K[c.name] as (x: Tensor) => Tensor;
      await fc.assert(
        fc.asyncProperty(shape(0, 4), seed, async (s, sd) => {
          const x = randomNd(s, sd, c.values);
          await expectOpClose(() => op(fromNd(x)), toF32(R.unary(c.name, x)), c.tol, `${c.name} ${fmt(s)}`);
        }),
        runs(12),
      );
    });
  }

  it('tanh, sigmoid and gelu stay finite and saturate at large |x|', async () => {
    const big = nd([6], [-1e4, -200, -30, 30, 200, 1e4]);
    for (const name of ['tanh', 'sigmoid', 'gelu'] as const) {
      await expectOpClose(() => K[name](fromNd(big)), toF32(R.unary(name, big)), { rtol: 1e-5, atol: 1e-30 }, name);
    }
  });
});

describe('scalar-parameter ops', () => {
  it('affine, mulScalar, addScalar (rtol 1e-6, atol 1e-5: two roundings, possible cancellation)', async () => {
    const num = fc.double({ min: -5, max: 5, noNaN: true }).map(Math.fround);
    await fc.assert(
      fc.asyncProperty(shape(0, 4), seed, num, num, async (s, sd, a, b) => {
        const x = randomNd(s, sd, { lo: -5, hi: 5 });
        const tol = { rtol: 1e-6, atol: 1e-5 };
        await expectOpClose(() => K.affine(fromNd(x), a, b), R.affine(x, a, b), tol, `affine ${fmt(s)} a=${a} b=${b}`);
        await expectOpClose(() => K.mulScalar(fromNd(x), a), R.affine(x, a, 0), tol, `mulScalar ${fmt(s)} a=${a}`);
        await expectOpClose(() => K.addScalar(fromNd(x), b), R.affine(x, 1, b), tol, `addScalar ${fmt(s)} b=${b}`);
      }),
      runs(10),
    );
  });

  it('powScalar on positive bases, any exponent (rtol 1e-5: pow is exp2(p·log2 x) in WGSL)', async () => {
    const p = fc.oneof(fc.constantFrom(-2, -1, -0.5, 0, 0.5, 1, 2, 3), fc.double({ min: -3, max: 3, noNaN: true }).map(Math.fround));
    await fc.assert(
      fc.asyncProperty(shape(0, 4), seed, p, async (s, sd, e) => {
        const x = randomNd(s, sd, { lo: 0.05, hi: 5 });
        await expectOpClose(() => K.powScalar(fromNd(x), e), R.powScalar(x, e), { rtol: 1e-5, atol: 0 }, `powScalar ${fmt(s)} p=${e}`);
      }),
      runs(15),
    );
  });

  it('powScalar follows PyTorch on negative bases: integer exponents keep the sign rule, others give NaN, x^0 = 1', async () => {
    // 0^negative is left out: WGSL leaves pow(0, y < 0) undefined (SwiftShader gives 1.7e38, not ∞).
    const xAll = nd([5], [-3, -2, -0.5, 0, 2]);
    const xNonZero = nd([4], [-3, -2, -0.5, 2]);
    for (const e of [0, 1, 2, 3, -1, -2, 0.5, 1.5]) {
      const x = e < 0 ? xNonZero : xAll;
      const ref = R.powScalar(x, e);
      // atol: pow(0, y > 0) is exp2(y·log2 0) in WGSL, which SwiftShader evaluates to ~2^-63, not 0.
      await expectOpClose(() => K.powScalar(fromNd(x), e), ref, { rtol: 1e-6, atol: 1e-15 }, `powScalar p=${e}`);
    }
  });
});

interface BinaryCase {
  name: Exclude<R.BinaryName, 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'>;
  a: ValueOptions;
  b: ValueOptions;
  tol: Tolerance;
}

// add/sub/mul/max/min are one IEEE rounding of the float64 result (compared bit-exactly after
// rounding the reference to float32); WGSL allows division 2.5 ulp; pow inherits exp2/log2 error (|b·log2 a| ≲ 8 here).
const BINARY_CASES: BinaryCase[] = [
  { name: 'add', a: {}, b: {}, tol: EXACT },
  { name: 'sub', a: {}, b: {}, tol: EXACT },
  { name: 'mul', a: {}, b: {}, tol: EXACT },
  { name: 'div', a: {}, b: { awayFromZero: 0.25 }, tol: { rtol: 1e-6, atol: 0 } },
  { name: 'pow', a: { lo: 0.05, hi: 4 }, b: { lo: -2, hi: 3 }, tol: { rtol: 1e-5, atol: 0 } },
  { name: 'maximum', a: {}, b: {}, tol: EXACT },
  { name: 'minimum', a: {}, b: {}, tol: EXACT },
];

/** Passes a rank-0 operand as a plain number when `asNumber` says so (the ops accept both). */
const operand = (a: Nd, asNumber: boolean): Tensor | number => (asNumber && a.shape.length === 0 ? a.data[0] : fromNd(a));

describe('binary ops broadcast like NumPy and accept numbers', () => {
  for (const c of BINARY_CASES) {
    it(`${c.name} (rtol ${c.tol.rtol})`, async () => {
      const op = K[c.name] as (a: Tensor | number, b: Tensor | number) => Tensor;
      const ref = (a: Nd, b: Nd) => toF32(R.binary(c.name, a, b));
      await fc.assert(
        fc.asyncProperty(broadcastShapes(2), seed, fc.boolean(), async ([sa, sb], sd, asNum) => {
          const a = randomNd(sa, sd, c.a);
          const b = randomNd(sb, sd + 1, c.b);
          await expectOpClose(() => op(operand(a, asNum), operand(b, asNum)), ref(a, b), c.tol, `${c.name} ${fmt(sa)} ${fmt(sb)}`);
        }),
        runs(15),
      );
    });
  }

  it('add and where at ranks up to 8 (index uniforms past the first vec4)', async () => {
    await fc.assert(
      fc.asyncProperty(broadcastShapes(3, 8, 3), seed, async ([sc, sa, sb], sd) => {
        const c = randomNd(sc, sd, { lo: 0, hi: 2, integer: true });
        const a = randomNd(sa, sd + 1);
        const b = randomNd(sb, sd + 2);
        await expectOpClose(() => K.add(fromNd(a), fromNd(b)), toF32(R.binary('add', a, b)), EXACT, `add ${fmt(sa)} ${fmt(sb)}`);
        await expectOpClose(() => K.where(fromNd(c), fromNd(a), fromNd(b)), R.where(c, a, b), EXACT, `where ${fmt(sc)} ${fmt(sa)} ${fmt(sb)}`);
      }),
      runs(8),
    );
    // Certainly rank 6 after dim collapsing: b's broadcast dims alternate.
    const a = randomNd([2, 3, 2, 3, 2, 3], 1);
    const b = randomNd([2, 1, 2, 1, 2, 1], 2);
    await expectOpClose(() => K.add(fromNd(a), fromNd(b)), toF32(R.binary('add', a, b)), EXACT, 'add rank 6');
  });

  it('pow with negative bases: integer exponents as in PyTorch, NaN otherwise', async () => {
    const a = nd([4, 1], [-2, -0.5, 1.5, 3]);
    const b = nd([5], [-2, 0, 1, 3, 0.5]);
    await expectOpClose(() => K.pow(fromNd(a), fromNd(b)), R.binary('pow', a, b), { rtol: 1e-6, atol: 0 }, 'pow');
  });

  it('comparisons give exact 0/1 masks, with ties (integer values) and broadcasting', async () => {
    const names = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
    await fc.assert(
      fc.asyncProperty(broadcastShapes(2), seed, fc.boolean(), async ([sa, sb], sd, asNum) => {
        const a = randomNd(sa, sd, { lo: -2, hi: 3, integer: true });
        const b = randomNd(sb, sd + 1, { lo: -2, hi: 3, integer: true });
        for (const n of names) {
          await expectOpClose(() => K[n](operand(a, asNum), operand(b, asNum)), R.binary(n, a, b), EXACT, `${n} ${fmt(sa)} ${fmt(sb)}`);
        }
      }),
      runs(10),
    );
  });

  it('rejects shapes that do not broadcast and non-f32 inputs, naming both', () => {
    const a = tensor(new Float32Array(6), [2, 3]);
    const b = tensor(new Float32Array(4), [4]);
    expect(() => K.add(a, b)).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
    const i = tensor(Int32Array.from([1, 2, 3]), [3], 'i32');
    expect(() => K.mul(a, i)).toThrow(/mul: second input \[3\] i32 has dtype i32; expected f32/);
    for (const t of [a, b, i]) t.dispose();
  });
});

describe('where and maskedFill', () => {
  it('where(cond, a, b) broadcasts all three operands (exact)', async () => {
    await fc.assert(
      fc.asyncProperty(broadcastShapes(3), seed, fc.boolean(), async ([sc, sa, sb], sd, asNum) => {
        const c = randomNd(sc, sd, { lo: 0, hi: 2, integer: true });
        const a = randomNd(sa, sd + 1);
        const b = randomNd(sb, sd + 2);
        await expectOpClose(() => K.where(fromNd(c), operand(a, asNum), operand(b, asNum)), R.where(c, a, b), EXACT, `where ${fmt(sc)} ${fmt(sa)} ${fmt(sb)}`);
      }),
      runs(15),
    );
  });

  it('maskedFill sets masked positions to the value, −∞ included (exact)', async () => {
    await fc.assert(
      fc.asyncProperty(broadcastShapes(2), seed, fc.constantFrom(-Infinity, 0, 3.5, -1e9), async ([sx, sm], sd, v) => {
        const x = randomNd(sx, sd);
        const m = randomNd(sm, sd + 1, { lo: 0, hi: 2, integer: true });
        // The result takes the broadcast shape of mask and x.
        await expectOpClose(() => K.maskedFill(fromNd(x), fromNd(m), v), R.maskedFill(x, m, v), EXACT, `maskedFill ${fmt(sx)} ${fmt(sm)} ${v}`);
      }),
      runs(10),
    );
  });
});

describe('empty and very large tensors', () => {
  it('0-size inputs give 0-size outputs of the broadcast shape', async () => {
    const cases: [number[], number[]][] = [
      [[0], [0]],
      [[0, 3], [3]],
      [[2, 0, 3], [1, 1, 3]],
      [[0], []],
    ];
    for (const [sa, sb] of cases) {
      const a = randomNd(sa, 1);
      const b = randomNd(sb, 2);
      await expectOpClose(() => K.add(fromNd(a), fromNd(b)), R.binary('add', a, b), EXACT, `add ${fmt(sa)} ${fmt(sb)}`);
      await expectOpClose(() => K.lt(fromNd(a), fromNd(b)), R.binary('lt', a, b), EXACT, `lt ${fmt(sa)} ${fmt(sb)}`);
      await expectOpClose(() => K.exp(fromNd(a)), R.unary('exp', a), EXACT, `exp ${fmt(sa)}`);
      await expectOpClose(() => K.where(fromNd(b), fromNd(a), 1), R.where(b, a, nd([], [1])), EXACT, `where ${fmt(sa)}`);
    }
  });

  // 65,535 workgroups × 64 threads is the most a 1-D grid reaches; beyond it grid1d folds into 2-D.
  const N = 65535 * 64 + 4097;

  it(`unary, binary (flat and broadcast) and where cover all ${N} elements through the folded 2-D grid`, async () => {
    const xs = new Float32Array(N);
    for (let i = 0; i < N; i++) xs[i] = (i % 1999) - 999;
    const x = tensor(xs, [N]);
    const one = tensor([0.5], [1]);
    const checks: [string, () => Tensor, (i: number) => number][] = [
      ['affine', () => K.affine(x, 2, 1), (i) => xs[i] * 2 + 1],
      ['add (same shape)', () => K.add(x, x), (i) => xs[i] * 2],
      ['sub (broadcast [1])', () => K.sub(x, one), (i) => xs[i] - 0.5],
      ['gt then where', () => K.where(K.gt(x, 0), x, -1), (i) => (xs[i] > 0 ? xs[i] : -1)],
    ];
    for (const [label, run, want] of checks) {
      const y = tidy(run);
      const got = await y.data();
      y.dispose();
      const expected = new Float64Array(N);
      for (let i = 0; i < N; i++) expected[i] = want(i);
      expectClose(got, expected, EXACT, label);
    }
    x.dispose();
    one.dispose();
  });
});
