// conv1d (implicit GEMM and the im2col baseline) and weight norm against float64 references:
// fixed XLS-R-like shapes scaled down, fast-check properties over random geometries, and
// finite-difference gradient checks. Tolerance: |got − ref| ≤ 1e-4·(1 + |ref|) (f32 sums of ≤ 100
// terms of size ≈ 1 stay near 1e-6), 2e-3 for finite differences of the nonlinear weight norm.
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { backward, getEngine, initEngine, kernelOptionsFromEnv, noGrad, requiresGrad, tensor, tidy, type Tensor } from '../../engine/node.ts';
// The engine does not import kernels: loading them registers the self-check initEngine runs and gradient accumulation.
import '../../kernels/index.ts';
import { conv1d, conv1dGeometry, defaultConvImpl, conv1dOutputLength, conv1dTile, type Conv1dOptions } from '../../kernels/conv1d.ts';
import { convTileFor } from '../../kernels/conv1d-kernels.ts';
import { conv1dChannelsLast } from '../../kernels/conv1d-channels-last.ts';
import { foldWeightNorm, weightNorm } from '../../kernels/weight-norm.ts';
import { Rng } from '../../engine/random.ts';
import { conv1dGradRef, conv1dRef, weightNormGradRef, weightNormRef, type Conv1dRefOptions } from '../reference/conv1d.ts';
import { nd, type Nd } from '../reference/nd.ts';

beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
});

function randNd(shape: number[], rng: Rng, std = 1): Nd {
  const n = shape.reduce((a, b) => a * b, 1);
  return nd(shape, Array.from({ length: n }, () => rng.normal() * std));
}

const gpu = (a: Nd, grad = false): Tensor => {
  const t = tensor(Float32Array.from(a.data), a.shape);
  return grad ? requiresGrad(t) : t;
};

function expectClose(what: string, got: ArrayLike<number>, ref: Nd, tol = 1e-4): void {
  expect(got.length, `${what}: length`).toBe(ref.data.length);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - ref.data[i]);
    if (!(err <= tol * (1 + Math.abs(ref.data[i])))) {
      expect.fail(`${what}[${i}] of [${ref.shape.join(', ')}]: got ${got[i]}, reference ${ref.data[i]} (|diff| ${err.toExponential(2)})`);
    }
  }
}

interface Case {
  B: number;
  Cin: number;
  Cout: number;
  K: number;
  L: number;
  bias: boolean;
  opts: Conv1dRefOptions;
}

const label = (c: Case): string =>
  `B${c.B} ${c.Cin}→${c.Cout} K${c.K} L${c.L} s${c.opts.stride ?? 1} p${c.opts.padding ?? 0} d${c.opts.dilation ?? 1} g${c.opts.groups ?? 1} trim${c.opts.trimEnd ?? 0}${c.bias ? ' bias' : ''}`;

/** One case's random x, w, bias and output gradient, with the float64 output and gradients. */
function caseData(c: Case, seed: number) {
  const rng = new Rng(seed);
  const G = c.opts.groups ?? 1;
  const x = randNd([c.B, c.Cin, c.L], rng);
  const w = randNd([c.Cout, c.Cin / G, c.K], rng, 0.5);
  const b = c.bias ? randNd([c.Cout], rng) : null;
  const yRef = conv1dRef(x, w, b, c.opts);
  const dy = randNd(yRef.shape as number[], rng);
  return { x, w, b, yRef, dy, grads: conv1dGradRef(x, w, dy, c.opts) };
}

/** [a, b, c] → [a, c, b] on the host. */
function swapLast(t: Nd): Nd {
  const [a, b, c] = t.shape;
  const out = new Array<number>(a * b * c);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < c; k++) out[(i * c + k) * b + j] = t.data[(i * b + j) * c + k];
  return nd([a, c, b], out);
}

/** The same check through conv1dChannelsLast: x [B, L, Cin] → y [B, Lout, Cout], gradients in those layouts. */
async function checkChannelsLast(c: Case, seed: number): Promise<void> {
  const { x, w, b, yRef, dy, grads } = caseData(c, seed);
  const tx = gpu(swapLast(x), true);
  const tw = gpu(w, true);
  const tb = b ? gpu(b, true) : null;
  const [y, dx, dw, db] = await tidy(() => {
    const out = conv1dChannelsLast(tx, tw, tb, { ...c.opts, impl: 'im2col' });
    backward(out, gpu(swapLast(dy)));
    return [out, tx.grad!, tw.grad!, tb?.grad ?? null] as const;
  });
  const name = `channels-last ${label(c)}`;
  expectClose(`${name} y`, await y.data(), swapLast(yRef));
  expectClose(`${name} dx`, await dx.data(), swapLast(grads.dx));
  expectClose(`${name} dw`, await dw.data(), grads.dw);
  if (db) expectClose(`${name} dbias`, await db.data(), grads.db);
  for (const t of [tx, tw, tb, y, dx, dw, db]) t?.dispose();
}

/** Forward and all three gradients of one case vs the float64 reference. */
async function checkCase(c: Case, seed: number, impl: Conv1dOptions['impl'] = 'implicit'): Promise<void> {
  const { x, w, b, yRef, dy, grads } = caseData(c, seed);
  const tx = gpu(x, true);
  const tw = gpu(w, true);
  const tb = b ? gpu(b, true) : null;
  const [y, dx, dw, db] = await tidy(() => {
    const out = conv1d(tx, tw, tb, { ...c.opts, impl });
    backward(out, gpu(dy));
    return [out, tx.grad!, tw.grad!, tb?.grad ?? null] as const;
  });
  expect(y.shape).toEqual(yRef.shape);
  const name = `${impl} ${label(c)}`;
  expectClose(`${name} y`, await y.data(), yRef);
  expectClose(`${name} dx`, await dx.data(), grads.dx);
  expectClose(`${name} dw`, await dw.data(), grads.dw);
  if (db) expectClose(`${name} dbias`, await db.data(), grads.db);
  for (const t of [tx, tw, tb, y, dx, dw, db]) t?.dispose();
}

describe('conv1d on XLS-R-like shapes (scaled down)', () => {
  const cases: Case[] = [
    // feature encoder: block 0 (1→C, k10 s5), blocks 1–4 (k3 s2), blocks 5–6 (k2 s2, odd length)
    { B: 1, Cin: 1, Cout: 16, K: 10, L: 203, bias: true, opts: { stride: 5 } },
    { B: 2, Cin: 16, Cout: 16, K: 3, L: 41, bias: true, opts: { stride: 2 } },
    { B: 1, Cin: 16, Cout: 16, K: 2, L: 21, bias: true, opts: { stride: 2 } },
    // positional conv: 2 groups of 16, even kernel, padding K/2, SamePad drop; odd and even T
    { B: 1, Cin: 32, Cout: 32, K: 16, L: 37, bias: true, opts: { padding: 8, groups: 2, trimEnd: 1 } },
    { B: 2, Cin: 32, Cout: 32, K: 16, L: 38, bias: true, opts: { padding: 8, groups: 2, trimEnd: 1 } },
  ];
  for (const c of cases) it(label(c), () => checkCase(c, 11));

  it('SamePad: trimEnd=1 is the full output without its last frame, and that frame gets no gradient', async () => {
    const rng = new Rng(5);
    const x = randNd([1, 8, 9], rng);
    const w = randNd([8, 4, 4], rng);
    const opts = { padding: 2, groups: 2 };
    const full = conv1dRef(x, w, null, opts);
    const y = noGrad(() => conv1d(gpu(x), gpu(w), null, { ...opts, trimEnd: 1 }));
    expect(y.shape).toEqual([1, 8, full.shape[2] - 1]);
    const got = await y.data();
    const T = full.shape[2];
    const kept = nd([1, 8, T - 1], Array.from({ length: 8 * (T - 1) }, (_, i) => full.data[Math.floor(i / (T - 1)) * T + (i % (T - 1))]));
    expectClose('trimmed y', got, kept);
  });

  it('the im2col baseline matches the reference too', async () => {
    await checkCase({ B: 2, Cin: 6, Cout: 4, K: 3, L: 17, bias: true, opts: { stride: 2, padding: 1, dilation: 2, groups: 2 } }, 3, 'im2col');
    await checkCase({ B: 1, Cin: 32, Cout: 32, K: 16, L: 38, bias: false, opts: { padding: 8, groups: 2, trimEnd: 1 } }, 4, 'im2col');
  });
});

describe('default path choice', () => {
  it("follows the adapter (im2col for long reductions on GPUs, for the 1-channel block on CPUs); the engine's option (SPOOFSCAN_CONV) overrides", () => {
    const g = conv1dGeometry([1, 512, 1000], [512, 512, 3], { stride: 2 });
    const e = getEngine();
    const saved = e.kernelOptions.conv;
    try {
      e.setKernelOptions({ conv: undefined });
      // llvmpipe's texture matmul makes im2col the faster path for every conv with a real reduction.
      const gl = e.adapter.backend === 'opengles';
      expect(defaultConvImpl(g, e)).toBe(e.adapter.isCpu && !gl ? 'implicit' : 'im2col');
      // grouped convs keep the implicit kernels elsewhere; the 1-channel first block is the reverse case
      expect(defaultConvImpl(conv1dGeometry([1, 64, 300], [64, 4, 128], { padding: 64, groups: 16 }), e)).toBe(gl ? 'im2col' : 'implicit');
      expect(defaultConvImpl(conv1dGeometry([1, 1, 4000], [512, 1, 10], { stride: 5 }), e)).toBe(e.adapter.isCpu && !gl ? 'im2col' : 'implicit');
      e.setKernelOptions({ conv: 'im2col' });
      expect(defaultConvImpl(g, e)).toBe('im2col');
      expect(kernelOptionsFromEnv({ SPOOFSCAN_CONV: 'im2col' })).toEqual({ conv: 'im2col' });
      expect(() => kernelOptionsFromEnv({ SPOOFSCAN_CONV: 'fast' })).toThrow(/SPOOFSCAN_CONV='fast' is not one of implicit, im2col/);
    } finally {
      e.setKernelOptions({ conv: saved });
    }
  });
});

describe('the GPU tiling and split-K, forced on this adapter', () => {
  it('gives the same results (4 positions per invocation, 16×4 workgroups, reduction split into chunks)', async () => {
    const e = getEngine();
    e.setKernelOptions({ convTile: { ...convTileFor({ isCpu: false }), splitTarget: 1 << 30 } });
    try {
      expect(conv1dTile(e).tn).toBe(4);
      await checkCase({ B: 2, Cin: 6, Cout: 9, K: 5, L: 23, bias: true, opts: { stride: 2, padding: 2, dilation: 2, groups: 3 } }, 61);
      await checkCase({ B: 1, Cin: 32, Cout: 32, K: 16, L: 37, bias: true, opts: { padding: 8, groups: 2, trimEnd: 1 } }, 62);
    } finally {
      e.setKernelOptions({ convTile: undefined });
    }
  });
});

describe('conv1d properties over random geometries', () => {
  const geometry = fc
    .record({
      B: fc.integer({ min: 1, max: 2 }),
      groups: fc.integer({ min: 1, max: 3 }),
      cing: fc.integer({ min: 1, max: 5 }),
      coutg: fc.integer({ min: 1, max: 6 }),
      depthwise: fc.boolean(),
      K: fc.integer({ min: 1, max: 5 }),
      stride: fc.integer({ min: 1, max: 3 }),
      dilation: fc.integer({ min: 1, max: 3 }),
      padding: fc.integer({ min: 0, max: 3 }),
      extra: fc.integer({ min: 0, max: 6 }),
      trim: fc.boolean(),
      bias: fc.boolean(),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
    })
    .map((r): [Case, number] => {
      // depthwise: one input channel per group (groups = Cin), channel multiplier coutg
      const groups = r.depthwise ? r.groups + 2 : r.groups;
      const cing = r.depthwise ? 1 : r.cing;
      const field = r.dilation * (r.K - 1) + 1;
      const L = Math.max(1, field - 2 * r.padding) + r.extra; // barely ≥ the receptive field when extra = 0
      const full = conv1dOutputLength(L, r.K, r.stride, r.padding, r.dilation);
      const opts: Conv1dRefOptions = { stride: r.stride, dilation: r.dilation, padding: r.padding, groups, trimEnd: r.trim && full > 1 ? 1 : 0 };
      return [{ B: r.B, Cin: cing * groups, Cout: r.coutg * groups, K: r.K, L, bias: r.bias, opts }, r.seed];
    });

  it('forward and dx, dw, dbias equal the float64 reference', async () => {
    await fc.assert(
      fc.asyncProperty(geometry, async ([c, seed]) => {
        await checkCase(c, seed);
      }),
      { seed: 20240607, numRuns: 40 },
    );
  });
  // llvmpipe's im2col forward: the columns gathered straight into the texture matmul's packed operand
  // (kernels/conv1d-texture.ts), one product per (batch, group); forced here on every adapter.
  it('conv1dChannelsLast equals the float64 reference on the default path (transposes around conv1d here)', async () => {
    await fc.assert(
      fc.asyncProperty(geometry, async ([c, seed]) => {
        await checkChannelsLast(c, seed);
      }),
      { seed: 20261206, numRuns: 10 },
    );
  });

  it('the texture path (im2col without the column matrix) equals the float64 reference', async () => {
    const e = getEngine();
    const saved = { conv: e.kernelOptions.conv, matmul: e.kernelOptions.matmul };
    e.setKernelOptions({ conv: 'im2col', matmul: 'texture' });
    try {
      await fc.assert(
        fc.asyncProperty(geometry, async ([c, seed]) => {
          await checkCase(c, seed, 'im2col');
        }),
        { seed: 20261204, numRuns: 25 },
      );
      // Reductions of 64 and 256 (Cing·K): the weight is copied into its texture rather than packed.
      const spy = vi.spyOn(e, 'dispatch');
      await checkCase({ B: 2, Cin: 32, Cout: 8, K: 2, L: 30, bias: true, opts: { stride: 2 } }, 5, 'im2col');
      expect(spy.mock.calls.some(([d]) => d.key.startsWith('conv1d:texture-pack'))).toBe(true);
      spy.mockRestore();
      // Channels-last (the XLS-R feature encoder): read and written in that layout, one group's bias fused.
      await fc.assert(
        fc.asyncProperty(geometry, async ([c, seed]) => {
          await checkChannelsLast(c, seed);
        }),
        { seed: 20261205, numRuns: 20 },
      );
      await checkChannelsLast({ B: 2, Cin: 32, Cout: 8, K: 2, L: 30, bias: true, opts: { stride: 2 } }, 7);
      // Many channels, few frames: the product takes frames as its rows (and fuses the bias) in either layout.
      const wide: Case = { B: 1, Cin: 16, Cout: 64, K: 4, L: 20, bias: true, opts: { padding: 1 } };
      await checkChannelsLast(wide, 8);
      await checkCase(wide, 9, 'im2col');
      await checkCase({ B: 1, Cin: 64, Cout: 32, K: 8, L: 40, bias: true, opts: { padding: 4, groups: 2, trimEnd: 1 } }, 6, 'im2col');
    } finally {
      e.setKernelOptions(saved);
    }
  });
});

/** Σ r·f() in float64 from a GPU forward. */
async function weightedSum(r: Float64Array, f: () => Tensor): Promise<number> {
  const y = noGrad(f);
  const v = await y.data();
  y.dispose();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += r[i] * v[i];
  return s;
}

/**
 * Central differences of loss(params) along `coords` random coordinates of each parameter,
 * compared with the autograd gradient of the same loss.
 */
async function finiteDifferences(params: Nd[], loss: (ts: Tensor[]) => Tensor, h: number, tol: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const ts = params.map((p) => gpu(p, true));
  const y0 = noGrad(() => loss(ts));
  const r = Float64Array.from({ length: y0.size }, () => rng.normal());
  const shape = y0.shape;
  y0.dispose();
  tidy(() => backward(loss(ts), tensor(Float32Array.from(r), shape)));
  for (let pi = 0; pi < params.length; pi++) {
    const grad = await ts[pi].grad!.data();
    const p = params[pi];
    for (let n = 0; n < 5; n++) {
      const j = rng.int(p.data.length);
      const at = async (delta: number): Promise<number> => {
        const moved = Float32Array.from(p.data);
        moved[j] += delta;
        const mt = tensor(moved, p.shape);
        const others = ts.map((t, k) => (k === pi ? mt : t));
        const v = await weightedSum(r, () => loss(others));
        mt.dispose();
        return v;
      };
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      const err = Math.abs(fd - grad[j]);
      if (!(err <= tol * (1 + Math.abs(fd)))) expect.fail(`param ${pi} index ${j}: finite difference ${fd}, autograd ${grad[j]}`);
    }
  }
  for (const t of ts) t.dispose();
}

describe('finite-difference gradient checks', () => {
  it('conv1d dX, dW, dBias (strided, dilated, grouped, padded)', async () => {
    const rng = new Rng(21);
    const opts: Conv1dOptions = { stride: 2, padding: 2, dilation: 2, groups: 2 };
    // conv1d is linear in each argument, so central differences are exact up to rounding: h can be large.
    await finiteDifferences([randNd([2, 4, 13], rng), randNd([6, 2, 3], rng), randNd([6], rng)], ([x, w, b]) => conv1d(x, w, b, opts), 0.25, 1e-3, 22);
  });

  it('weight norm dg, dv (alone and through a grouped conv)', async () => {
    const rng = new Rng(31);
    const g = randNd([1, 1, 4], rng);
    const v = randNd([6, 3, 4], rng);
    await finiteDifferences([g, v], ([tg, tv]) => weightNorm(tg, tv, 2), 1e-2, 2e-3, 32);
    const x = randNd([1, 6, 9], rng);
    await finiteDifferences([g, v, x], ([tg, tv, tx]) => conv1d(tx, weightNorm(tg, tv, 2), null, { groups: 2, padding: 2, trimEnd: 1 }), 1e-2, 2e-3, 33);
  });
});

describe('weight norm', () => {
  it('equals g·v/‖v‖ per kernel tap and its gradients equal the closed forms, for dim 2 and dim 0', async () => {
    const rng = new Rng(41);
    for (const [dim, gShape] of [
      [2, [1, 1, 5]],
      [0, [7, 1, 1]],
    ] as const) {
      const g = randNd([...gShape], rng);
      const v = randNd([7, 3, 5], rng);
      const tg = gpu(g, true);
      const tv = gpu(v, true);
      const gw = randNd([7, 3, 5], rng);
      const w = weightNorm(tg, tv, dim);
      backward(w, gpu(gw));
      expectClose(`w dim ${dim}`, await w.data(), weightNormRef(g, v, dim).w);
      const ref = weightNormGradRef(g, v, gw, dim);
      expect(tg.grad!.shape).toEqual(gShape);
      expectClose(`dg dim ${dim}`, await tg.grad!.data(), ref.dg);
      expectClose(`dv dim ${dim}`, await tv.grad!.data(), ref.dv);
      const folded = foldWeightNorm(tg, tv, dim);
      expect(folded.requiresGrad).toBe(false);
      expectClose(`folded dim ${dim}`, await folded.data(), weightNormRef(g, v, dim).w);
    }
  });

  it('gradients reach g and v through the positional-conv pattern (grouped conv, padding K/2, SamePad)', async () => {
    const rng = new Rng(51);
    const K = 8;
    const x = randNd([1, 16, 11], rng);
    const g = randNd([1, 1, K], rng);
    const v = randNd([16, 4, K], rng);
    const b = randNd([16], rng);
    const opts = { padding: K / 2, groups: 4, trimEnd: 1 };
    const tg = gpu(g, true);
    const tv = gpu(v, true);
    const y = conv1d(gpu(x), weightNorm(tg, tv, 2), gpu(b), opts);
    const dy = randNd(y.shape as number[], rng);
    backward(y, gpu(dy));
    const w = weightNormRef(g, v, 2).w;
    expectClose('y', await y.data(), conv1dRef(x, w, b, opts));
    const dW = conv1dGradRef(x, w, dy, opts).dw;
    const ref = weightNormGradRef(g, v, dW, 2);
    expectClose('dg', await tg.grad!.data(), ref.dg);
    expectClose('dv', await tv.grad!.data(), ref.dv);
  });
});

describe('conv1d errors', () => {
  it('names the problem', () => {
    const x = tensor(new Float32Array(2 * 4 * 10), [2, 4, 10]);
    const w = tensor(new Float32Array(6 * 2 * 3), [6, 2, 3]);
    expect(() => conv1d(x.view([8, 10]), w)).toThrow(/input must be \[batch, channels, length\], got \[8, 10\]/);
    expect(() => conv1d(x, w)).toThrow(/expects 2 input channels .* has 4/);
    expect(() => conv1d(x, w, null, { groups: 3 })).toThrow(/groups=3 must divide/);
    expect(() => conv1d(x, w, null, { groups: 2, dilation: 5 })).toThrow(/input length 10 is shorter than the receptive field.*at least 11/);
    expect(() => conv1d(x, w, tensor([1, 2], [2]), { groups: 2 })).toThrow(/bias must be \[6\], got \[2\]/);
    expect(() => conv1d(x, w, null, { groups: 2, stride: 0 })).toThrow(/stride must be an integer ≥ 1/);
    expect(() => conv1dGeometry([1, 1, 5], [1, 1, 5], { trimEnd: 1 })).toThrow(/trimEnd=1 removes all 1 output frames/);
    expect(() => weightNorm(tensor([1, 2], [1, 1, 2]), w, 2)).toThrow(/g must be \[1, 1, 3\]/);
  });
});
