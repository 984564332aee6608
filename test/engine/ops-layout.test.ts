// Layout ops (reshape, permute, transpose, slice, concat, pad, expand, clone, indexSelect) and
// casts against references. Layout ops copy 32-bit words, so every dtype must come back bit-exact.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor, tidy, type DType, type Tensor } from '../../engine/node.ts';
import * as K from '../../kernels/index.ts';
import { expandable, runs, seed, shape, shapeWithAxis } from '../helpers/arbitraries.ts';
import { EXACT, expectClose, expectOpClose } from '../helpers/close.ts';
import { engineReady, fromNd, toNd, useEngine } from '../helpers/engine.ts';
import * as L from '../reference/layout.ts';
import { nd, randomInts, randomNd, type Nd } from '../reference/nd.ts';

useEngine();
// The one allowed skip: f16 tests need the adapter feature shader-f16.
const HAS_F16 = (await engineReady()).hasF16();

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;
const dtypeArb = fc.constantFrom<DType>('f32', 'i32', 'u32');

/** Values that use the whole range of the dtype (u32 above 2^31, negative i32, any f32). */
function valuesFor(dtype: DType, s: readonly number[], sd: number): Nd {
  if (dtype === 'i32') return randomInts(s, sd, -(2 ** 31), 2 ** 31);
  if (dtype === 'u32') return randomInts(s, sd, 0, 2 ** 32);
  return randomNd(s, sd, { lo: -1e6, hi: 1e6 });
}

/** Runs a layout op on a tensor of `dtype` and compares bit-exactly, also checking the dtype. */
async function checkLayout(op: (x: Tensor) => Tensor, x: Nd, dtype: DType, ref: Nd, label: string): Promise<void> {
  await expectOpClose(
    () => {
      const y = op(fromNd(x, dtype));
      if (y.dtype !== dtype) throw new Error(`${label}: dtype ${y.dtype}, expected ${dtype}`);
      return y;
    },
    ref,
    EXACT,
    `${label} ${dtype}`,
  );
}

describe('layout ops are exact copies for f32, i32 and u32', () => {
  it('reshape (with -1) is a view with the same values', async () => {
    await fc.assert(
      fc.asyncProperty(shape(0, 4), seed, fc.boolean(), async (s, sd, infer) => {
        const x = randomNd(s, sd);
        const target = s.length === 0 ? [1, 1] : [s.reduce((a, d) => a * d, 1)];
        const arg = infer && s.length > 0 ? [-1] : target;
        await expectOpClose(() => K.reshape(fromNd(x), arg), L.reshape(x, target), EXACT, `reshape ${fmt(s)} → ${fmt(arg)}`);
      }),
      runs(10),
    );
    const t = tensor(new Float32Array(6), [2, 3]);
    expect(() => K.reshape(t, [4, 2])).toThrow(/reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
    t.dispose();
  });

  it('permute by a random permutation', async () => {
    const arb = shape(0, 4).chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length })));
    await fc.assert(
      fc.asyncProperty(arb, seed, dtypeArb, async ([s, perm], sd, dtype) => {
        const x = valuesFor(dtype, s, sd);
        await checkLayout((t) => K.permute(t, perm), x, dtype, L.permute(x, perm), `permute ${fmt(s)} by ${fmt(perm)}`);
      }),
      runs(20),
    );
  });

  it('permute at ranks 5..8 (index uniforms past the first vec4)', async () => {
    const arb = shape(5, 8, 3).chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length })));
    await fc.assert(
      fc.asyncProperty(arb, seed, async ([s, perm], sd) => {
        const x = valuesFor('i32', s, sd);
        await checkLayout((t) => K.permute(t, perm), x, 'i32', L.permute(x, perm), `permute ${fmt(s)} by ${fmt(perm)}`);
      }),
      runs(8),
    );
    // Certainly rank 6 after dim collapsing: a reversal merges nothing.
    const x = valuesFor('i32', [2, 3, 2, 3, 2, 3], 5);
    await checkLayout((t) => K.permute(t, [5, 4, 3, 2, 1, 0]), x, 'i32', L.permute(x, [5, 4, 3, 2, 1, 0]), 'permute rank 6 reversed');
  });

  it('transpose of two random axes (default: the last two)', async () => {
    const arb = shape(2, 4).chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: -s.length, max: s.length - 1 }), fc.integer({ min: -s.length, max: s.length - 1 })));
    await fc.assert(
      fc.asyncProperty(arb, seed, async ([s, a, b], sd) => {
        const x = randomNd(s, sd);
        await checkLayout((t) => K.transpose(t, a, b), x, 'f32', L.transpose(x, a, b), `transpose ${fmt(s)} ${a} ${b}`);
        await checkLayout((t) => K.transpose(t), x, 'f32', L.transpose(x), `transpose ${fmt(s)}`);
      }),
      runs(10),
    );
  });

  it('slice with positive, negative, open and empty ranges', async () => {
    const arb = shapeWithAxis(1, 4).chain(({ shape: s, axis }) => {
      const len = s[axis < 0 ? axis + s.length : axis];
      return fc.tuple(fc.constant(s), fc.constant(axis), fc.integer({ min: 0, max: len }), fc.integer({ min: 0, max: len }), fc.boolean(), fc.boolean());
    });
    await fc.assert(
      fc.asyncProperty(arb, seed, dtypeArb, async ([s, axis, p, q, negative, open], sd, dtype) => {
        const len = s[axis < 0 ? axis + s.length : axis];
        const [lo, hi] = p <= q ? [p, q] : [q, p];
        const start = negative ? lo - len : lo;
        const end = open ? undefined : negative && hi < len ? hi - len : hi;
        const x = valuesFor(dtype, s, sd);
        await checkLayout((t) => K.slice(t, axis, start, end), x, dtype, L.slice(x, axis, start, end), `slice ${fmt(s)} axis ${axis} [${start}, ${end})`);
      }),
      runs(20),
    );
    const t = tensor(new Float32Array(6), [2, 3]);
    expect(() => K.slice(t, 1, 2, 4)).toThrow(/slice: range \[2, 4\) is outside axis 1 of \[2, 3\]/);
    t.dispose();
  });

  it('concat of 1..3 tensors whose sizes along the axis differ (0 included)', async () => {
    const arb = shapeWithAxis(1, 4).chain(({ shape: s, axis }) =>
      fc.tuple(fc.constant(s), fc.constant(axis), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 })),
    );
    await fc.assert(
      fc.asyncProperty(arb, seed, dtypeArb, async ([s, axis, sizes], sd, dtype) => {
        const ax = axis < 0 ? axis + s.length : axis;
        const parts = sizes.map((n, k) => valuesFor(dtype, s.map((d, i) => (i === ax ? n : d)), sd + k));
        await expectOpClose(() => K.concat(parts.map((p) => fromNd(p, dtype)), axis), L.concat(parts, axis), EXACT, `concat ${sizes} along ${axis} of ${fmt(s)} ${dtype}`);
      }),
      runs(20),
    );
    const a = tensor(new Float32Array(6), [2, 3]);
    const b = tensor(new Float32Array(4), [2, 2]);
    expect(() => K.concat([a, b], 0)).toThrow(/concat: shapes \[2, 3\] f32, \[2, 2\] f32 differ outside axis 0/);
    for (const t of [a, b]) t.dispose();
  });

  it('pad with per-axis [before, after] and a fill value', async () => {
    const arb = shape(0, 4).chain((s) =>
      fc.tuple(fc.constant(s), fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), { minLength: 0, maxLength: s.length })),
    );
    await fc.assert(
      fc.asyncProperty(arb, seed, dtypeArb, fc.constantFrom(0, -1, 7), async ([s, pads], sd, dtype, value) => {
        const x = valuesFor(dtype, s, sd);
        const ref = L.pad(x, pads, dtype === 'u32' ? value >>> 0 : value);
        await checkLayout((t) => K.pad(t, pads, value), x, dtype, ref, `pad ${fmt(s)} ${JSON.stringify(pads)} value ${value}`);
      }),
      runs(20),
    );
  });

  it('expand materialises a broadcast', async () => {
    await fc.assert(
      fc.asyncProperty(expandable(), seed, dtypeArb, async ([sx, target], sd, dtype) => {
        const x = valuesFor(dtype, sx, sd);
        await checkLayout((t) => K.expand(t, target), x, dtype, L.expand(x, target), `expand ${fmt(sx)} → ${fmt(target)}`);
      }),
      runs(15),
    );
  });

  it('clone copies, and 0-size tensors pass through every layout op', async () => {
    for (const dtype of ['f32', 'i32', 'u32'] as const) {
      const x = valuesFor(dtype, [3, 5], 9);
      await checkLayout((t) => K.clone(t), x, dtype, x, 'clone');
    }
    const z = randomNd([0, 3], 1);
    await checkLayout((t) => K.permute(t, [1, 0]), z, 'f32', L.permute(z, [1, 0]), 'permute [0,3]');
    await checkLayout((t) => K.pad(t, [[1, 1]]), z, 'f32', L.pad(z, [[1, 1]]), 'pad [0,3]');
    await checkLayout((t) => K.slice(t, 1, 1, 2), z, 'f32', L.slice(z, 1, 1, 2), 'slice [0,3]');
    await checkLayout((t) => K.expand(t, [2, 0, 3]), z, 'f32', L.expand(z, [2, 0, 3]), 'expand [0,3]');
    await checkLayout((t) => K.clone(t), z, 'f32', z, 'clone [0,3]');
  });

  // More than 65,535 × 64 elements: the strided copy runs on the folded 2-D grid.
  it('copies past 65,535 × 64 elements (transpose, slice, clone)', async () => {
    const rows = 2049;
    const cols = 2049; // 4,198,401 elements
    const xs = new Int32Array(rows * cols);
    for (let i = 0; i < xs.length; i++) xs[i] = i;
    const x = tensor(xs, [rows, cols], 'i32');
    const tr = K.transpose(x);
    const got = await tr.data();
    const want = new Int32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) want[c * rows + r] = r * cols + c;
    expectClose(got, want, EXACT, 'transpose [2049,2049] i32');
    const cl = K.clone(x);
    expectClose(await cl.data(), xs, EXACT, 'clone [2049,2049] i32');
    const sl = K.slice(x, 1, 1);
    const gotSl = await sl.data();
    const wantSl = new Int32Array(rows * (cols - 1));
    for (let r = 0; r < rows; r++) for (let c = 1; c < cols; c++) wantSl[r * (cols - 1) + c - 1] = r * cols + c;
    expectClose(gotSl, wantSl, EXACT, 'slice [2049,2049] axis 1 from 1');
    for (const t of [x, tr, cl, sl]) t.dispose();
  });
});

describe('indexSelect', () => {
  const arb = shapeWithAxis(1, 4).chain(({ shape: s, axis }) => {
    const len = s[axis < 0 ? axis + s.length : axis];
    return fc.tuple(fc.constant(s), fc.constant(axis), fc.array(fc.integer({ min: -len, max: len - 1 }), { minLength: 0, maxLength: 6 }));
  });

  it('with host indices (negative, repeated, empty)', async () => {
    await fc.assert(
      fc.asyncProperty(arb, seed, dtypeArb, async ([s, axis, idx], sd, dtype) => {
        const x = valuesFor(dtype, s, sd);
        await checkLayout((t) => K.indexSelect(t, axis, idx), x, dtype, L.indexSelect(x, axis, idx), `indexSelect ${fmt(s)} axis ${axis} ${fmt(idx)}`);
      }),
      runs(20),
    );
  });

  it('with an i32 index tensor; out-of-range tensor indices are clamped into the axis', async () => {
    await fc.assert(
      fc.asyncProperty(arb, seed, async ([s, axis, idx], sd) => {
        const len = s[axis < 0 ? axis + s.length : axis];
        const nonNeg = idx.map((i) => (i < 0 ? i + len : i));
        const x = randomNd(s, sd);
        await checkLayout((t) => K.indexSelect(t, axis, tensor(Int32Array.from(nonNeg), [nonNeg.length], 'i32')), x, 'f32', L.indexSelect(x, axis, nonNeg), `indexSelect tensor ${fmt(s)} axis ${axis} ${fmt(nonNeg)}`);
      }),
      runs(10),
    );
    const x = randomNd([4, 2], 5);
    await checkLayout((t) => K.indexSelect(t, 0, tensor(Int32Array.from([-7, 9, 2]), [3], 'i32')), x, 'f32', L.indexSelect(x, 0, [0, 3, 2]), 'clamped');
  });

  it('rejects out-of-range host indices and non-i32 or non-1-D index tensors', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    expect(() => K.indexSelect(x, 1, [0, 3])).toThrow(/indexSelect: index 3 \(position 1\) is out of range for axis 1 of size 3 in \[2, 3\]/);
    const f = tensor([0, 1], [2]);
    expect(() => K.indexSelect(x, 0, f)).toThrow(/indexSelect: indices \[2\] f32 has dtype f32; expected i32/);
    const m = tensor(Int32Array.from([0, 1, 0, 1]), [2, 2], 'i32');
    expect(() => K.indexSelect(x, 0, m)).toThrow(/indexSelect: indices must be 1-D/);
    for (const t of [x, f, m]) t.dispose();
  });
});

describe('cast', () => {
  const floats = (s: readonly number[], sd: number) => randomNd(s, sd, { lo: -3e6, hi: 3e6 });
  const sources: Record<'f32' | 'i32' | 'u32', (s: readonly number[], sd: number) => Nd> = {
    f32: floats,
    i32: (s, sd) => randomInts(s, sd, -(2 ** 31), 2 ** 31),
    u32: (s, sd) => randomInts(s, sd, 0, 2 ** 32),
  };
  const pairs = (['f32', 'i32', 'u32'] as const).flatMap((a) => (['f32', 'i32', 'u32'] as const).map((b) => [a, b] as const));

  for (const [from, to] of pairs) {
    it(`${from} → ${to}${from === to ? ' (a view)' : ''}`, async () => {
      await fc.assert(
        fc.asyncProperty(shape(0, 3), seed, async (s, sd) => {
          const x = sources[from](s, sd);
          const ref = { shape: x.shape, data: x.data.map((v) => L.castValue(v, from, to)) };
          await expectOpClose(() => K.cast(fromNd(x, from), to), ref, EXACT, `cast ${from}→${to} ${fmt(s)}`);
        }),
        runs(5),
      );
    });
  }

  it('float → integer truncates toward zero and saturates (WGSL conversion rules)', async () => {
    const x = nd([8], [2.9, -2.9, 0.5, -0.5, 3e9, -3e9, 5e9, 16777217]);
    for (const to of ['i32', 'u32'] as const) {
      const ref = { shape: x.shape, data: x.data.map((v) => L.castValue(Math.fround(v), 'f32', to)) };
      await expectOpClose(() => K.cast(fromNd(x), to), ref, EXACT, `cast f32→${to}`);
    }
  });

  it('f16 is either supported or refused with a message naming shader-f16', () => {
    const x = tensor([1, 2], [2]);
    if (HAS_F16) K.cast(x, 'f16').dispose();
    else expect(() => K.cast(x, 'f16')).toThrow(/cast: f16 needs the adapter feature 'shader-f16'/);
    x.dispose();
  });

  it.skipIf(!HAS_F16)('f32 ↔ f16 rounds to nearest even, overflows to ∞, and converts back exactly', async () => {
    const special = [0, -0, 1, -1, 65504, 65519, 65520, 1e5, -1e5, 2 ** -14, 2 ** -24, 2 ** -25, 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    const rnd = randomNd([101], 3, { lo: -1000, hi: 1000 }).data;
    const x = nd([special.length + rnd.length], [...special, ...rnd]);
    const h = tidy(() => K.cast(fromNd(x), 'f16'));
    expect(h.dtype).toBe('f16');
    const ref = x.data.map(L.roundToF16);
    expectClose((await toNd(h)).data, ref, EXACT, 'cast f32→f16');
    const back = K.cast(h, 'f32');
    expectClose(await back.data(), ref, EXACT, 'cast f16→f32');
    for (const t of [h, back]) t.dispose();
  });
});
