// Fused local-window attention (kernels/local-attention.ts) against the float64 reference and the
// composed engine-op version, for every edge policy; equality with full attention for W ≥ 2N − 1;
// the inverse table; gradients (q, k, v, β) and dropout.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backward, getEngine, initEngine, tensor, tidy } from '../../engine/node.ts';
// The engine does not import kernels: loading them registers the self-check initEngine runs and gradient accumulation.
import '../../kernels/index.ts';
import { attention } from '../../kernels/attention.ts';
import { EDGE_POLICIES, inverseTable, localWindowAttention, localWindowAttentionForward, slotKeyOf, type EdgePolicy } from '../../kernels/local-attention.ts';
import { bandAttentionDense, bandMask, localWindowAttentionComposed } from '../../kernels/local-attention-composed.ts';
import { randomNd } from '../reference/nd.ts';
import { localAttentionRef, localAttentionRefBackward, type LocalRefOptions } from '../reference/attention.ts';
import { directionalCheck, dotNd, expectClose, expectFdGradient, toTensor } from './attention-helpers.ts';

beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
});

interface Case {
  B: number;
  H: number;
  N: number;
  dk: number;
  dv: number;
  W: number;
  dil: number;
  /** Fraction of W − 1 for the left extent (0 = causal-forward, 1 = causal). */
  leftFrac: number;
  policy: EdgePolicy;
  bias: boolean;
  p: number;
  seed: number;
}

async function checkCase(c: Case): Promise<void> {
  const left = Math.round(c.leftFrac * (c.W - 1));
  const q = randomNd([c.B, c.H, c.N, c.dk], c.seed);
  const k = randomNd([c.B, c.H, c.N, c.dk], c.seed + 1);
  const v = randomNd([c.B, c.H, c.N, c.dv], c.seed + 2);
  const g = randomNd([c.B, c.H, c.N, c.dv], c.seed + 3);
  const bias = c.bias ? randomNd([c.H, c.W], c.seed + 4) : undefined;
  const ro: LocalRefOptions = { window: c.W, dilation: c.dil, left, policy: c.policy, bias, dropout: c.p > 0 ? { p: c.p, seed: c.seed } : undefined };
  const want = localAttentionRef(q, k, v, ro);
  const wantG = localAttentionRefBackward(q, k, v, g, ro);
  const [tq, tk, tv] = [toTensor(q, true), toTensor(k, true), toTensor(v, true)];
  const tb = bias ? toTensor(bias, true) : undefined;
  const opts = { window: c.W, dilation: c.dil, left, policy: c.policy, bias: tb, dropout: c.p, seed: c.seed };
  const out = localWindowAttention(tq, tk, tv, opts);
  const composed = localWindowAttentionComposed(tq, tk, tv, opts);
  const { lse } = localWindowAttentionForward(tq, tk, tv, opts);
  backward(out, toTensor(g));
  const label = JSON.stringify(c);
  expectClose(await out.data(), want.out.data, `${label} out`);
  expectClose(await composed.data(), want.out.data, `${label} composed`);
  expectClose(await lse.data(), want.lse, `${label} lse`);
  expectClose(await tq.grad!.data(), wantG.dq.data, `${label} dq`, 2e-4);
  expectClose(await tk.grad!.data(), wantG.dk.data, `${label} dk`, 2e-4);
  expectClose(await tv.grad!.data(), wantG.dv.data, `${label} dv`, 2e-4);
  if (tb) expectClose(await tb.grad!.data(), wantG.dbias!.data, `${label} dbias`, 2e-4);
}

const caseArb = fc.record({
  B: fc.integer({ min: 1, max: 2 }),
  H: fc.integer({ min: 1, max: 3 }),
  N: fc.integer({ min: 1, max: 14 }),
  // (8, 4) takes the vec4 kernels, the others the scalar ones.
  dk: fc.constantFrom(3, 8),
  dv: fc.constantFrom(2, 4),
  W: fc.integer({ min: 1, max: 11 }),
  dil: fc.integer({ min: 1, max: 3 }),
  leftFrac: fc.constantFrom(0.5, 0.5, 0, 1, 0.3),
  policy: fc.constantFrom(...EDGE_POLICIES),
  bias: fc.boolean(),
  p: fc.constantFrom(0, 0, 0.3),
  seed: fc.integer({ min: 1, max: 1000 }),
});

const base: Case = { B: 1, H: 2, N: 7, dk: 4, dv: 8, W: 3, dil: 1, leftFrac: 0.5, policy: 'clamp', bias: true, p: 0, seed: 3 };

describe('local-window attention vs float64 reference and the composed ops', () => {
  it('matches forward, LSE, dQ/dK/dV/dβ over random shapes, windows, dilations and policies', async () => {
    await fc.assert(fc.asyncProperty(caseArb, checkCase), { numRuns: 30, seed: 21 });
  });

  it.each(EDGE_POLICIES)('edge cases under %s: N = 1, W > N, δ > 1, even and odd N', async (policy) => {
    for (const c of [
      { N: 1, W: 3 },
      { N: 1, W: 1 },
      { N: 4, W: 9 },
      { N: 5, W: 9, dil: 2 },
      { N: 8, W: 5, dil: 3 },
      { N: 9, W: 4 },
    ]) {
      await checkCase({ ...base, ...c, policy });
    }
  });

  it('runs the Nes2Net-LA configuration (8 groups, d = 128, W = 3, clamp)', async () => {
    await checkCase({ B: 2, H: 1, N: 8, dk: 128, dv: 128, W: 3, dil: 1, leftFrac: 0.5, policy: 'clamp', bias: false, p: 0.1, seed: 8 });
  });

  it("under 'mask' with W ≥ 2N − 1 equals full attention and the dense band-masked path", async () => {
    const N = 6;
    const [q, k, v] = [randomNd([2, 2, N, 4], 1), randomNd([2, 2, N, 4], 2), randomNd([2, 2, N, 3], 3)];
    const g = toTensor(randomNd([2, 2, N, 3], 4));
    const run = async (f: (q: ReturnType<typeof toTensor>, k: ReturnType<typeof toTensor>, v: ReturnType<typeof toTensor>) => ReturnType<typeof toTensor>) => {
      const ts = [toTensor(q, true), toTensor(k, true), toTensor(v, true)];
      const out = f(ts[0], ts[1], ts[2]);
      backward(out, g);
      return [await out.data(), ...(await Promise.all(ts.map((t) => t.grad!.data())))];
    };
    const full = await run((a, b, c) => attention(a, b, c));
    for (const W of [2 * N - 1, 2 * N + 2]) {
      const local = await run((a, b, c) => localWindowAttention(a, b, c, { window: W, policy: 'mask' }));
      full.forEach((x, i) => expectClose(local[i], x, `W=${W} part ${i}`));
    }
    const band = await run((a, b, c) => bandAttentionDense(a, b, c, bandMask(N, 3)));
    const local3 = await run((a, b, c) => localWindowAttention(a, b, c, { window: 3, policy: 'mask' }));
    band.forEach((x, i) => expectClose(local3[i], x, `band part ${i}`));
  });

  it('has gradients equal to those of the composed engine ops', async () => {
    const ins = [randomNd([1, 2, 7, 4], 1), randomNd([1, 2, 7, 4], 2), randomNd([1, 2, 7, 3], 3), randomNd([2, 4], 4)];
    const g = toTensor(randomNd([1, 2, 7, 3], 5));
    for (const policy of EDGE_POLICIES) {
      const grads: (Float32Array | Int32Array | Uint32Array)[][] = [];
      for (const f of [localWindowAttention, localWindowAttentionComposed]) {
        const ts = ins.map((a) => toTensor(a, true));
        backward(f(ts[0], ts[1], ts[2], { window: 4, dilation: 2, policy, bias: ts[3], dropout: 0.3, seed: 77 }), g);
        grads.push(await Promise.all(ts.map((t) => t.grad!.data())));
      }
      grads[0].forEach((x, i) => expectClose(x, grads[1][i], `${policy} grad ${i}`));
    }
  });
});

describe('local-window attention gradients by finite differences', () => {
  it('reference dQ, dK, dV, dβ equal float64 central differences for every policy', () => {
    const q = randomNd([1, 2, 5, 3], 1);
    const k = randomNd([1, 2, 5, 3], 2);
    const v = randomNd([1, 2, 5, 2], 3);
    const bias = randomNd([2, 4], 4);
    const r = randomNd([1, 2, 5, 2], 5);
    for (const policy of EDGE_POLICIES) {
      const o: LocalRefOptions = { window: 4, dilation: 2, policy, bias, dropout: { p: 0.3, seed: 3 } };
      const gr = localAttentionRefBackward(q, k, v, r, o);
      expectFdGradient((x) => dotNd(localAttentionRef(x, k, v, o).out, r), q, gr.dq, `${policy} dq`);
      expectFdGradient((x) => dotNd(localAttentionRef(q, x, v, o).out, r), k, gr.dk, `${policy} dk`);
      expectFdGradient((x) => dotNd(localAttentionRef(q, k, x, o).out, r), v, gr.dv, `${policy} dv`);
      expectFdGradient((x) => dotNd(localAttentionRef(q, k, v, { ...o, bias: x }).out, r), bias, gr.dbias!, `${policy} dβ`);
    }
  });

  it('kernel gradients of q, k, v and β agree with finite differences of the kernel', async () => {
    const ins = [randomNd([2, 2, 6, 4], 31), randomNd([2, 2, 6, 4], 32), randomNd([2, 2, 6, 3], 33), randomNd([2, 5], 34)];
    for (const policy of EDGE_POLICIES) {
      const f = ([q, k, v, b]: ReturnType<typeof toTensor>[]) => localWindowAttention(q, k, v, { window: 5, policy, bias: b, dropout: 0.2, seed: 5 });
      for (let which = 0; which < 4; which++) await directionalCheck(f, ins, which, 200 + which);
    }
  });
});

describe('inverse table and policies', () => {
  it('lists, per key, exactly the (n, j) pairs that read it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(...EDGE_POLICIES),
        (N, W, dil, policy) => {
          const left = Math.floor(W / 2);
          const t = inverseTable(N, W, dil, left, policy);
          let total = 0;
          for (let m = 0; m < N; m++) {
            for (let e = t[m]; e < t[m + 1]; e++) {
              const ent = t[N + 1 + e];
              expect(slotKeyOf(Math.floor(ent / W), ent % W, N, dil, left, policy)).toBe(m);
              total++;
            }
          }
          let expected = 0;
          for (let n = 0; n < N; n++) for (let j = 0; j < W; j++) if ((slotKeyOf(n, j, N, dil, left, policy) ?? -1) >= 0) expected++;
          expect(total).toBe(expected);
          if (policy === 'clamp') expect(total).toBe(N * W);
        },
      ),
      { numRuns: 200, seed: 3 },
    );
  });

  it('clamps the Nes2Net-LA neighbourhoods as the reference model does', () => {
    const nbr = [...Array(8).keys()].map((n) => [0, 1, 2].map((j) => slotKeyOf(n, j, 8, 1, 1, 'clamp')));
    expect(nbr).toEqual([[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6], [5, 6, 7], [6, 7, 7]]);
  });

  it('drops a fraction ≈ p of the slot weights, deterministically per seed', async () => {
    const N = 64;
    const W = 8;
    const p = 0.3;
    const q = tensor(new Float32Array(2 * N * 2), [1, 2, N, 2]);
    const k = toTensor(randomNd([1, 2, N, 2], 1));
    // v = 1 everywhere with 'clamp': O = Σ_j keep_j / (W (1 − p)), so the kept count per row is exact.
    const v = tensor(new Float32Array(2 * N).fill(1), [1, 2, N, 1]);
    const o = { window: W, policy: 'clamp' as const, dropout: p, seed: 99 };
    const out = await localWindowAttention(q, k, v, o).data();
    const again = await localWindowAttention(q, k, v, o).data();
    expect(Array.from(again)).toEqual(Array.from(out));
    let kept = 0;
    for (const x of out) kept += Math.round(x * W * (1 - p));
    expect(Math.abs(1 - kept / (2 * N * W) - p)).toBeLessThan(0.04);
    const plain = await localWindowAttention(q, k, v, { window: W, policy: 'clamp', dropout: 0, seed: 99 }).data();
    expect(Array.from(plain)).toEqual(Array.from(await localWindowAttention(q, k, v, { window: W, policy: 'clamp' }).data()));
  });

  it('explains bad options', () => {
    const t = toTensor(randomNd([1, 1, 4, 2], 1));
    expect(() => localWindowAttention(t, t, t, { window: 0, policy: 'mask' })).toThrow(/window 0 must be a positive integer/);
    expect(() => localWindowAttention(t, t, t, { window: 3, dilation: 0, policy: 'mask' })).toThrow(/dilation 0/);
    expect(() => localWindowAttention(t, t, t, { window: 3, left: 3, policy: 'mask' })).toThrow(/left 3 must be an integer in 0..2/);
    expect(() => localWindowAttention(t, t, t, { window: 3, policy: 'wrap' as EdgePolicy })).toThrow(/policy 'wrap' is not one of clamp, mask, zero/);
    expect(() => localWindowAttention(t, t, t, { window: 3, policy: 'mask', bias: tensor([0, 0], [1, 2]) })).toThrow(/bias \[1, 2\] must be \[H, W\] = \[1, 3\]/);
    expect(() => localWindowAttention(t, toTensor(randomNd([1, 1, 5, 2], 1)), t, { window: 3, policy: 'mask' })).toThrow(/k \[1, 1, 5, 2\] must match q/);
  });
});

describe('memory', () => {
  it('frees everything but the cached inverse table after forward + backward (both kernels)', async () => {
    const ins = [randomNd([1, 2, 9, 4], 1), randomNd([1, 2, 9, 4], 2), randomNd([1, 2, 9, 3], 3), randomNd([2, 3], 4)].map((a) => toTensor(a, true));
    const g = toTensor(randomNd([1, 2, 9, 3], 5));
    const step = () => {
      tidy(() => {
        backward(localWindowAttention(ins[0], ins[1], ins[2], { window: 3, policy: 'clamp', bias: ins[3], dropout: 0.2, seed: 1 }), g);
        backward(attention(ins[0], ins[1], ins[2], { dropout: 0.2, seed: 1 }), g);
      });
      for (const t of ins) {
        t.grad?.dispose();
        t.grad = null;
      }
    };
    step(); // builds and caches the inverse table
    await getEngine().sync();
    const before = getEngine().memory().liveBytes;
    for (let i = 0; i < 3; i++) step();
    await getEngine().sync();
    expect(getEngine().memory().liveBytes).toBe(before);
  });
});
