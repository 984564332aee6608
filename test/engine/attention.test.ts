// Fused attention (kernels/attention.ts) against the float64 reference: forward, LSE, gradients,
// key padding, dropout (GPU counter hash = host mirror), both kernel variants, and MHA.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { backward, getEngine, initEngine, noGrad, tensor, type Tensor } from '../../engine/node.ts';
// The engine does not import kernels: loading them registers the self-check initEngine runs and gradient accumulation.
import '../../kernels/index.ts';
import { attention, attentionForward, multiHeadAttention } from '../../kernels/attention.ts';
import { ATTENTION_VARIANTS } from '../../kernels/attention-common.ts';
import { planHeadsTexture } from '../../kernels/attention-texture.ts';
import { randomNd, type Nd } from '../reference/nd.ts';
import { attentionRef, attentionRefBackward, type FullRefOptions } from '../reference/attention.ts';
import { directionalCheck, dotNd, expectClose, expectFdGradient, toTensor } from './attention-helpers.ts';

beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
});

interface Case {
  B: number;
  H: number;
  N: number;
  M: number;
  dk: number;
  dv: number;
  masked: boolean;
  p: number;
  seed: number;
}

/** Runs the kernel forward + backward for a case and compares everything with the reference. */
async function checkCase(c: Case, variant: 'shared' | 'direct'): Promise<void> {
  const q = randomNd([c.B, c.H, c.N, c.dk], c.seed);
  const k = randomNd([c.B, c.H, c.M, c.dk], c.seed + 1);
  const v = randomNd([c.B, c.H, c.M, c.dv], c.seed + 2);
  const g = randomNd([c.B, c.H, c.N, c.dv], c.seed + 3);
  // Pad a suffix of keys in batch 0 (at least one key stays), none elsewhere.
  const mask = new Float32Array(c.B * c.M);
  if (c.masked) for (let m = Math.max(1, c.M - 2); m < c.M; m++) mask[m] = 1;
  const refOpts: FullRefOptions = { keyPaddingMask: c.masked ? mask : undefined, dropout: c.p > 0 ? { p: c.p, seed: c.seed } : undefined };
  const want = attentionRef(q, k, v, refOpts);
  const wantG = attentionRefBackward(q, k, v, g, refOpts);
  const [tq, tk, tv] = [toTensor(q, true), toTensor(k, true), toTensor(v, true)];
  const opts = { variant, keyPaddingMask: c.masked ? tensor(mask, [c.B, c.M]) : undefined, dropout: c.p, seed: c.seed };
  const fwd = attentionForward(tq, tk, tv, opts);
  const out = attention(tq, tk, tv, opts);
  backward(out, toTensor(g));
  const label = `${variant} ${JSON.stringify(c)}`;
  expectClose(await out.data(), want.out.data, `${label} out`);
  expectClose(await fwd.lse.data(), want.lse, `${label} lse`);
  expectClose(await tq.grad!.data(), wantG.dq.data, `${label} dq`, 2e-4);
  expectClose(await tk.grad!.data(), wantG.dk.data, `${label} dk`, 2e-4);
  expectClose(await tv.grad!.data(), wantG.dv.data, `${label} dv`, 2e-4);
}

const caseArb = fc.record({
  B: fc.integer({ min: 1, max: 2 }),
  H: fc.integer({ min: 1, max: 3 }),
  N: fc.integer({ min: 1, max: 13 }),
  M: fc.integer({ min: 1, max: 21 }),
  // Head dims from a small set: each (d_k, d_v) is a separately compiled pipeline.
  dk: fc.constantFrom(3, 8),
  dv: fc.constantFrom(2, 5),
  masked: fc.boolean(),
  p: fc.constantFrom(0, 0.3),
  seed: fc.integer({ min: 1, max: 1000 }),
});

describe('fused attention vs float64 reference', () => {
  it('matches forward, LSE and dQ/dK/dV over random shapes (direct kernels)', async () => {
    await fc.assert(fc.asyncProperty(caseArb, (c) => checkCase(c, 'direct')), { numRuns: 25, seed: 11 });
  });

  it('matches with workgroup-memory tiles (shared kernels), tiles crossing M', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, (c) => checkCase({ ...c, dk: 3, dv: 2, M: c.M + 30 }, 'shared')),
      { numRuns: 8, seed: 12 },
    );
  });

  it('handles N = 1, M = 1 and a long key axis', async () => {
    for (const variant of ATTENTION_VARIANTS) {
      await checkCase({ B: 1, H: 1, N: 1, M: 1, dk: 3, dv: 2, masked: false, p: 0, seed: 5 }, variant);
      await checkCase({ B: 1, H: 2, N: 3, M: 70, dk: 3, dv: 2, masked: true, p: 0, seed: 6 }, variant);
    }
  });

  it('reference gradients equal float64 finite differences (with padding and dropout)', () => {
    const q = randomNd([1, 2, 3, 4], 1);
    const k = randomNd([1, 2, 5, 4], 2);
    const v = randomNd([1, 2, 5, 3], 3);
    const r = randomNd([1, 2, 3, 3], 4);
    const o: FullRefOptions = { keyPaddingMask: [0, 0, 0, 1, 0], dropout: { p: 0.4, seed: 9 } };
    const g = attentionRefBackward(q, k, v, r, o);
    expectFdGradient((x) => dotNd(attentionRef(x, k, v, o).out, r), q, g.dq, 'dq');
    expectFdGradient((x) => dotNd(attentionRef(q, x, v, o).out, r), k, g.dk, 'dk');
    expectFdGradient((x) => dotNd(attentionRef(q, k, x, o).out, r), v, g.dv, 'dv');
  });

  it('kernel gradients agree with finite differences of the kernel itself', async () => {
    const ins = [randomNd([2, 2, 5, 4], 21), randomNd([2, 2, 7, 4], 22), randomNd([2, 2, 7, 3], 23)];
    const f = ([q, k, v]: Tensor[]) => attention(q, k, v, { dropout: 0.2, seed: 4 });
    for (let which = 0; which < 3; which++) await directionalCheck(f, ins, which, 100 + which);
  });
});

describe('attention dropout', () => {
  const shape = (n: number, d: number) => [2, 2, n, d];

  it('is deterministic per seed, differs across seeds, and p = 0 equals no dropout', async () => {
    const [q, k, v] = [randomNd(shape(6, 4), 1), randomNd(shape(9, 4), 2), randomNd(shape(9, 3), 3)].map((a) => toTensor(a));
    const a1 = await attention(q, k, v, { dropout: 0.5, seed: 42 }).data();
    const a2 = await attention(q, k, v, { dropout: 0.5, seed: 42 }).data();
    const b = await attention(q, k, v, { dropout: 0.5, seed: 43 }).data();
    expect(Array.from(a1)).toEqual(Array.from(a2));
    expect(Array.from(a1)).not.toEqual(Array.from(b));
    const p0 = await attention(q, k, v, { dropout: 0, seed: 42 }).data();
    const none = await attention(q, k, v).data();
    expect(Array.from(p0)).toEqual(Array.from(none));
  });

  it('drops a fraction ≈ p of the weights', async () => {
    // q = 0 gives uniform weights 1/M; one-hot values make O[n, m] = keep(n, m)/(M(1−p)).
    const M = 32;
    const N = 32;
    const p = 0.25;
    const q = tensor(new Float32Array(2 * 2 * N * 4), shape(N, 4));
    const k = toTensor(randomNd(shape(M, 4), 7));
    const eye = new Float32Array(2 * 2 * M * M);
    for (let bh = 0; bh < 4; bh++) for (let m = 0; m < M; m++) eye[(bh * M + m) * M + m] = 1;
    const o = await attention(q, k, tensor(eye, shape(M, M)), { dropout: p, seed: 1234 }).data();
    const dropped = o.filter((x) => x === 0).length / o.length;
    expect(Math.abs(dropped - p)).toBeLessThan(0.03);
    for (const x of o) if (x !== 0) expect(x).toBeCloseTo(1 / (M * (1 - p)), 6);
  });

  it('asks for a seed and rejects p outside [0, 1)', () => {
    const t = toTensor(randomNd(shape(2, 2), 1));
    expect(() => attention(t, t, t, { dropout: 0.1 })).toThrow(/needs an explicit seed/);
    expect(() => attention(t, t, t, { dropout: 1, seed: 1 })).toThrow(/must be in \[0, 1\)/);
  });
});

describe('key padding mask', () => {
  it('accepts f32, i32 and u32 masks; fully padded rows give O = 0 and LSE = −∞', async () => {
    const q = toTensor(randomNd([2, 1, 3, 4], 1));
    const k = toTensor(randomNd([2, 1, 4, 4], 2));
    const v = toTensor(randomNd([2, 1, 4, 2], 3));
    const raw = [0, 1, 0, 1, 1, 1, 1, 1];
    const f = await attention(q, k, v, { keyPaddingMask: tensor(raw, [2, 4]) }).data();
    const i = await attention(q, k, v, { keyPaddingMask: tensor(Int32Array.from(raw), [2, 4]) }).data();
    const u = await attention(q, k, v, { keyPaddingMask: tensor(Uint32Array.from(raw), [2, 4]) }).data();
    expect(Array.from(i)).toEqual(Array.from(f));
    expect(Array.from(u)).toEqual(Array.from(f));
    expect(Array.from(f.slice(6))).toEqual([0, 0, 0, 0, 0, 0]);
    const { lse } = attentionForward(q, k, v, { keyPaddingMask: tensor(raw, [2, 4]) });
    expect(Array.from((await lse.data()).slice(3))).toEqual([-Infinity, -Infinity, -Infinity]);
  });

  it('explains mismatched shapes', () => {
    const q = toTensor(randomNd([1, 2, 3, 4], 1));
    const k = toTensor(randomNd([1, 2, 5, 4], 2));
    const v = toTensor(randomNd([1, 2, 5, 3], 3));
    expect(() => attention(q, k, toTensor(randomNd([1, 2, 4, 3], 1)))).toThrow(/v \[1, 2, 4, 3\] does not match k/);
    expect(() => attention(q, toTensor(randomNd([1, 2, 5, 3], 1)), v)).toThrow(/k \[1, 2, 5, 3\] does not match q/);
    expect(() => attention(q, k, v, { keyPaddingMask: tensor([0, 0], [1, 2]) })).toThrow(/keyPaddingMask \[1, 2\] must be \[B, M\] = \[1, 5\]/);
    expect(() => attention(toTensor(randomNd([2, 3, 4], 1)), k, v)).toThrow(/q must be \[B, H, N, d\]/);
  });
});

/** x·Wᵀ + b in float64 for x [rows, in]. */
function linearRef(x: Nd, w: Nd, b: Nd | undefined): Nd {
  const [rows, inDim] = x.shape.length === 3 ? [x.shape[0] * x.shape[1], x.shape[2]] : [x.shape[0], x.shape[1]];
  const out = w.shape[0];
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < out; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < inDim; i++) s += x.data[r * inDim + i] * w.data[o * inDim + i];
      y[r * out + o] = s;
    }
  return { shape: [...x.shape.slice(0, -1), out], data: y };
}

/** [B, T, H·d] → [B, H, T, d] (and back with inverse = true). */
function heads(x: Nd, H: number, inverse = false): Nd {
  const [B, a, b, c] = inverse ? x.shape : [x.shape[0], x.shape[1], H, x.shape[2] / H];
  const shape = inverse ? [B, b, a * c] : [B, H, a, c];
  const y = new Float64Array(x.data.length);
  if (!inverse) {
    for (let bi = 0; bi < B; bi++) for (let t = 0; t < a; t++) for (let h = 0; h < H; h++) for (let d = 0; d < c; d++) y[((bi * H + h) * a + t) * c + d] = x.data[((bi * a + t) * H + h) * c + d];
  } else {
    for (let bi = 0; bi < B; bi++) for (let h = 0; h < a; h++) for (let t = 0; t < b; t++) for (let d = 0; d < c; d++) y[((bi * b + t) * a + h) * c + d] = x.data[((bi * a + h) * b + t) * c + d];
  }
  return { shape, data: y };
}

describe('multiHeadAttention', () => {
  it('matches torch.nn.MultiheadAttention semantics (biases, 1/√d_head, key padding) and trains every weight', async () => {
    const [B, T, E, H] = [2, 5, 8, 2];
    const x = randomNd([B, T, E], 1);
    const w = [2, 3, 4, 5].map((s) => randomNd([E, E], s, { lo: -0.5, hi: 0.5 }));
    const bs = [6, 7, 8, 9].map((s) => randomNd([E], s));
    const mask = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    const q = heads(linearRef(x, w[0], bs[0]), H);
    const k = heads(linearRef(x, w[1], bs[1]), H);
    const v = heads(linearRef(x, w[2], bs[2]), H);
    const want = linearRef(heads(attentionRef(q, k, v, { keyPaddingMask: mask }).out, H, true), w[3], bs[3]);
    const wt = w.map((a) => toTensor(a, true));
    const bt = bs.map((a) => toTensor(a, true));
    const y = multiHeadAttention(toTensor(x), {
      wq: wt[0], wk: wt[1], wv: wt[2], wo: wt[3], bq: bt[0], bk: bt[1], bv: bt[2], bo: bt[3],
      heads: H,
      keyPaddingMask: tensor(mask, [B, T]),
    });
    expect(y.shape).toEqual([B, T, E]);
    expectClose(await y.data(), want.data, 'mha');
    backward(y, toTensor(randomNd([B, T, E], 10)));
    for (const t of [...wt, ...bt]) expect((await t.grad!.data()).some((g) => g !== 0)).toBe(true);
    expect(() => multiHeadAttention(toTensor(x), { wq: wt[0], wk: wt[1], wv: wt[2], wo: wt[3], heads: 3 })).toThrow(/3 heads do not divide/);
  });

  // llvmpipe's inference path (kernels/attention-texture.ts), forced here through the engine's matmul option:
  // the heads are packed and written in place, cross-attention with its own key count and value width.
  it('inference with the texture matmul reads and writes the heads in place and equals the float64 reference', async () => {
    const e = getEngine();
    const saved = e.kernelOptions.matmul;
    e.setKernelOptions({ matmul: 'texture' });
    try {
      const [B, T, M, E, Ekv, Ev, H] = [2, 7, 9, 12, 5, 6, 3];
      const x = randomNd([B, T, E], 11);
      const kv = randomNd([B, M, Ekv], 12);
      const w = [randomNd([E, E], 13, { lo: -0.5, hi: 0.5 }), randomNd([E, Ekv], 14, { lo: -0.5, hi: 0.5 }), randomNd([Ev, Ekv], 15, { lo: -0.5, hi: 0.5 }), randomNd([E, Ev], 16, { lo: -0.5, hi: 0.5 })];
      const bs = [randomNd([E], 17), randomNd([E], 18), randomNd([Ev], 19), randomNd([E], 20)];
      const q = heads(linearRef(x, w[0], bs[0]), H);
      const k = heads(linearRef(kv, w[1], bs[1]), H);
      const v = heads(linearRef(kv, w[2], bs[2]), H);
      const want = linearRef(heads(attentionRef(q, k, v).out, H, true), w[3], bs[3]);
      const [wt, bt] = [w.map((a) => toTensor(a)), bs.map((a) => toTensor(a))];
      const opts = { wq: wt[0], wk: wt[1], wv: wt[2], wo: wt[3], bq: bt[0], bk: bt[1], bv: bt[2], bo: bt[3], heads: H, kv: toTensor(kv) };
      const qt = toTensor(randomNd([B, T, E], 1));
      expect(planHeadsTexture(qt, toTensor(randomNd([B, M, E], 2)), toTensor(randomNd([B, M, Ev], 3)), H, {})).not.toBeNull();
      // A tensor that needs a gradient keeps the differentiable path.
      expect(planHeadsTexture(toTensor(randomNd([B, T, E], 1), true), qt, qt, H, {})).toBeNull();
      const spy = vi.spyOn(e, 'dispatch');
      const y = noGrad(() => multiHeadAttention(toTensor(x), opts));
      expect(spy.mock.calls.some(([d]) => d.op === 'permute')).toBe(false);
      spy.mockRestore();
      expectClose(await y.data(), want.data, 'mha, heads in place');
    } finally {
      e.setKernelOptions({ matmul: saved });
    }
  });
});
