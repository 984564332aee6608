// Matmul: every kernel variant against the float64 reference (random sizes including 1 and odd,
// both transposes, broadcast batches), every vec4/scalar access path, the adapter default, and
// the backward (analytic vs the float64 gradient formula, plus a coarse finite-difference check).
//
// Forward tolerance: |C − C_ref| ≤ 4e-6 · √K · max|A| · max|B|. Float32 summation of K products
// typically errs by ≈ eps·√K·(typical partial sum) with eps = 1.2e-7, so this allows ~30 ulps at
// that scale in every element, while any indexing bug (a wrong, missing or doubled product) is
// off by about max|A|·max|B| and fails by orders of magnitude.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { backward, getEngine, kernelOptionsFromEnv, requiresGrad, tensor, tidy, type Tensor } from '../../engine/node.ts';
import { defaultVariant, matmul, matmulBias, matmulGeometry, matmulRaw, TEXTURE_MIN_MACS } from '../../kernels/matmul.ts';
import { blockedTileFor, LLVMPIPE_LARGE_TILE_MACS, MATMUL_VARIANTS, planMatmul, type BlockedTile, type MatmulVariant } from '../../kernels/matmul-kernels.ts';
import { operandModes, type OperandModes } from '../../kernels/matmul-common.ts';
import { matmulGradRef, matmulRef, type MatmulRefOptions } from '../reference/matmul.ts';
import { randomNd, sizeOf, type Nd } from '../reference/nd.ts';
import { runs } from '../helpers/arbitraries.ts';
import { expectClose } from '../helpers/close.ts';
import { fromNd, useEngine } from '../helpers/engine.ts';
import { gradcheck } from '../helpers/gradcheck.ts';

useEngine();

const maxAbs = (a: Nd): number => a.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Allowed absolute error of a float32 dot product of length k over these operands. */
const dotTol = (k: number, a: Nd, b: Nd) => ({ rtol: 0, atol: 4e-6 * Math.sqrt(Math.max(1, k)) * maxAbs(a) * maxAbs(b) });

interface Case extends MatmulRefOptions {
  M: number;
  N: number;
  K: number;
  aBatch: number[];
  bBatch: number[];
}

function shapes(c: Case): { aShape: number[]; bShape: number[] } {
  return {
    aShape: [...c.aBatch, ...(c.transA ? [c.K, c.M] : [c.M, c.K])],
    bShape: [...c.bBatch, ...(c.transB ? [c.N, c.K] : [c.K, c.N])],
  };
}

const label = (c: Case, variant: string) =>
  `${variant} M=${c.M} N=${c.N} K=${c.K}${c.transA ? ' Aᵀ' : ''}${c.transB ? ' Bᵀ' : ''} batch [${c.aBatch}]·[${c.bBatch}]`;

async function checkForward(c: Case, variant: MatmulVariant, seed: number, blockedTile?: BlockedTile): Promise<void> {
  const { aShape, bShape } = shapes(c);
  const a = randomNd(aShape, seed);
  const b = randomNd(bShape, seed + 1);
  const ref = matmulRef(a, b, c);
  const out = tidy(() => matmulRaw(fromNd(a), fromNd(b), { transA: c.transA, transB: c.transB, variant, blockedTile }));
  try {
    expect(out.shape).toEqual(ref.shape);
    expectClose(await out.data(), ref.data, dotTol(c.K, a, b), label(c, variant), ref.shape);
  } finally {
    out.dispose();
  }
}

// Sizes 1..13 with multiples of 4 over-represented, so the vec4 paths and the scalar fallbacks
// (odd sizes, 1) both come up; batch shapes of rank 0..2 that broadcast against each other.
const size = fc.oneof(fc.integer({ min: 1, max: 13 }), fc.constantFrom(4, 8, 12, 16, 20));
const batchPair = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.nat(2), fc.nat(2))
  .map(([out, ones, dropA, dropB]) => {
    const derive = (drop: number, flags: boolean[]) => out.slice(Math.min(drop, out.length)).map((d, i) => (flags[i] ? 1 : d));
    return [derive(dropA, ones.slice(0, 2)), derive(dropB, ones.slice(2))] as const;
  });
const caseArb: fc.Arbitrary<Case> = fc
  .record({ M: size, N: size, K: size, transA: fc.boolean(), transB: fc.boolean(), batches: batchPair })
  .map(({ batches, ...r }) => ({ ...r, aBatch: [...batches[0]], bBatch: [...batches[1]] }));

describe('matmul forward vs float64 reference', () => {
  for (const variant of MATMUL_VARIANTS) {
    it(`${variant}: random sizes, transposes and broadcast batches`, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, fc.integer({ min: 1, max: 1e6 }), (c, seed) => checkForward(c, variant, seed)),
        runs(variant === 'naive' ? 12 : 30),
      );
    });
  }

  // Deterministic shapes for each access path of the fast variants, crossing the register tile
  // (blocked: up to 32 × 32 per invocation, 8 × 4 invocations; lanes: 16 rows per workgroup, vec4
  // columns 16 invocations apart) and the 64 × 64 workgroup tile (tiled).
  const pathCases: [string, Case, Partial<OperandModes>][] = [
    ['A vec4 along k, B vec4 along n', { M: 70, N: 132, K: 36, aBatch: [], bBatch: [] }, { a: 'k4', b: 'n4', c: 'v4' }],
    ['A vec4 along m, B vec4 along k', { M: 68, N: 72, K: 20, transA: true, transB: true, aBatch: [], bBatch: [] }, { a: 'm4', b: 'k4' }],
    ['A vec4 along k, B vec4 along k', { M: 33, N: 66, K: 24, transB: true, aBatch: [2], bBatch: [] }, { a: 'k4', b: 'k4', c: 's' }],
    ['A vec4 along m, B vec4 along n, odd K', { M: 40, N: 68, K: 67, transA: true, aBatch: [], bBatch: [] }, { a: 'm4', b: 'n4' }],
    ['A scalar, B vec4 along n', { M: 65, N: 12, K: 9, aBatch: [3, 1], bBatch: [2] }, { a: 's', b: 'n4' }],
    ['A vec4 along k, B scalar', { M: 9, N: 67, K: 16, aBatch: [], bBatch: [] }, { a: 'k4', b: 's', c: 's' }],
    ['A scalar (transposed, odd M), B vec4 along k', { M: 67, N: 13, K: 8, transA: true, transB: true, aBatch: [], bBatch: [2] }, { a: 's', b: 'k4' }],
    ['A vec4 along m, B scalar (transposed, odd N)', { M: 12, N: 70, K: 5, transA: true, transB: true, aBatch: [], bBatch: [] }, { a: 'm4', b: 's' }],
    ['all scalar, odd everything', { M: 71, N: 69, K: 73, aBatch: [], bBatch: [] }, { a: 's', b: 's', c: 's' }],
    ['vec4 with an unaligned batch stride falls back to scalar', { M: 3, N: 8, K: 5, transA: true, aBatch: [2], bBatch: [2] }, { a: 's', b: 'n4' }],
  ];
  for (const [name, c, modes] of pathCases) {
    it(`blocked, lanes and tiled: ${name}`, async () => {
      const { aShape, bShape } = shapes(c);
      const g = matmulGeometry(aShape, bShape, Boolean(c.transA), Boolean(c.transB));
      expect(operandModes(g)).toMatchObject(modes);
      for (const variant of ['blocked', 'lanes', 'tiled'] as const) {
        expect(planMatmul(variant, g, getEngine().adapter).modes).toMatchObject(modes);
        await checkForward(c, variant, 7);
      }
      // llvmpipe's large-product tile (32 × 32 per invocation, 8 × 1 invocations), forced on these small shapes.
      await checkForward(c, 'blocked', 8, blockedTileFor({ backend: 'opengles' }, LLVMPIPE_LARGE_TILE_MACS));
    });
  }

  // The texture kernel packs every layout the same way (k-major, zero past K and the padded rows), so
  // what varies is the packing strides, the edges of its tiles and the store mode: each case runs the
  // adapter's tile, llvmpipe's small (16 × 16) and large (32 × 32) ones and an 8 × 4 tile.
  const textureCases: [string, Case][] = [
    ['A·B, everything a tile multiple', { M: 64, N: 64, K: 64, aBatch: [], bBatch: [] }],
    ['x·Wᵀ (a Linear layer), M past the tile, K odd', { M: 70, N: 36, K: 67, transB: true, aBatch: [], bBatch: [] }],
    ['Aᵀ·B (a weight gradient), N not a multiple of 4', { M: 33, N: 66, K: 21, transA: true, aBatch: [], bBatch: [] }],
    ['Aᵀ·Bᵀ, everything odd', { M: 13, N: 71, K: 5, transA: true, transB: true, aBatch: [], bBatch: [] }],
    ['one row, one column', { M: 1, N: 1, K: 9, aBatch: [], bBatch: [] }],
    ['batch dims of size 1 collapse to one product', { M: 9, N: 12, K: 8, aBatch: [1], bBatch: [1, 1] }],
    ['x·Wᵀ with K a multiple of 64: both operands copied into the textures, no packing kernel', { M: 37, N: 20, K: 128, transB: true, aBatch: [], bBatch: [] }],
    ['A·B with K = 64: A copied, B packed', { M: 10, N: 9, K: 64, aBatch: [], bBatch: [] }],
    ['a broadcast batch (entries copied one above the other)', { M: 6, N: 12, K: 64, aBatch: [3, 1], bBatch: [2], transB: true }],
    ['a batch with odd strides (packed in one dispatch, scalar store)', { M: 5, N: 7, K: 9, aBatch: [2], bBatch: [2], transA: true }],
    ['a broadcast rank-2 batch, packed', { M: 7, N: 5, K: 6, aBatch: [2, 1, 3], bBatch: [4, 1], transA: true, transB: true }],
  ];
  for (const [name, c] of textureCases) {
    it(`texture: ${name}`, async () => {
      const { aShape, bShape } = shapes(c);
      const g = matmulGeometry(aShape, bShape, Boolean(c.transA), Boolean(c.transB));
      expect(planMatmul('texture', g, getEngine().adapter).variant).toBe('texture');
      await checkForward(c, 'texture', 11);
      for (const tile of [
        { tm: 16, tn: 16, wx: 8, wy: 1 },
        { tm: 32, tn: 32, wx: 8, wy: 1 },
        { tm: 8, tn: 4, wx: 2, wy: 1 },
      ]) {
        await checkForward(c, 'texture', 12, tile);
      }
    });
  }

  it('texture: operands past the texture limit (batch entries stacked) run the blocked kernel', () => {
    const gl = { backend: 'opengles' } as const;
    // 16 × 16 tile: 512 entries of 16 rows are 8,192 texture rows; 513 are too many.
    expect(planMatmul('texture', matmulGeometry([513, 8, 8], [8, 8]), gl, undefined, undefined, 8192).variant).toBe('blocked');
    expect(planMatmul('texture', matmulGeometry([512, 8, 8], [8, 8]), gl, undefined, undefined, 8192).variant).toBe('texture');
    expect(planMatmul('texture', matmulGeometry([8, 8], [8, 8]), gl).variant).toBe('texture');
    // K / 4 texels per row: 40,000 / 4 = 10,000 texels, past a 8,192 limit.
    expect(planMatmul('texture', matmulGeometry([8, 40_000], [40_000, 8]), gl, undefined, undefined, 8192).variant).toBe('blocked');
    expect(planMatmul('texture', matmulGeometry([9000, 8], [8, 8]), gl, undefined, undefined, 8192).variant).toBe('blocked');
  });

  it('texture: stale rows a copied operand leaves in a reused texture never reach the output', async () => {
    // The first product leaves NaN in 60 rows of each scratch texture; the second copies only 37 and 20
    // rows into the same textures (same size class), and computes its padded rows from the stale NaN.
    const nan = tensor(new Float32Array(60 * 64).fill(NaN), [60, 64]);
    matmulRaw(nan, nan, { variant: 'texture', transB: true }).dispose();
    nan.dispose();
    await checkForward({ M: 37, N: 20, K: 64, transB: true, aBatch: [], bBatch: [] }, 'texture', 13);
  });

  it('texture: two products in one batch reuse the scratch textures in order', async () => {
    // Same sizes, so both calls pack into the same two textures before either product is submitted.
    const a1 = randomNd([20, 12], 21);
    const b1 = randomNd([12, 24], 22);
    const a2 = randomNd([20, 12], 23);
    const b2 = randomNd([12, 24], 24);
    const [c1, c2] = tidy(() => [matmulRaw(fromNd(a1), fromNd(b1), { variant: 'texture' }), matmulRaw(fromNd(a2), fromNd(b2), { variant: 'texture' })]);
    expectClose(await c1.data(), matmulRef(a1, b1).data, dotTol(12, a1, b1), 'first product');
    expectClose(await c2.data(), matmulRef(a2, b2).data, dotTol(12, a2, b2), 'second product');
    c1.dispose();
    c2.dispose();
  });

  it('K = 0 gives zeros (even in a reused buffer) and M = 0 an empty result', async () => {
    for (const variant of MATMUL_VARIANTS) {
      // Dirty a pooled buffer of the output's size class first.
      tensor(new Float32Array(12).fill(5), [3, 4]).dispose();
      getEngine().flush();
      const c = matmulRaw(tensor([], [3, 0]), tensor([], [0, 4]), { variant });
      expect(c.shape).toEqual([3, 4]);
      expect(await c.toArray()).toEqual(new Array(12).fill(0));
      const e = matmulRaw(tensor([], [0, 5]), tensor(new Float32Array(10), [5, 2]), { variant });
      expect(e.shape).toEqual([0, 2]);
      c.dispose();
      e.dispose();
    }
  });

  it('integer-valued inputs give exact results on every variant', async () => {
    const a = randomNd([2, 9, 12], 3, { lo: -4, hi: 4, integer: true });
    const b = randomNd([12, 8], 4, { lo: -4, hi: 4, integer: true });
    const ref = matmulRef(a, b);
    for (const variant of MATMUL_VARIANTS) {
      const c = tidy(() => matmulRaw(fromNd(a), fromNd(b), { variant }));
      expect(Array.from(await c.data())).toEqual(Array.from(ref.data));
      c.dispose();
    }
  });

  it('runs more batches than maxComputeWorkgroupsPerDimension (dispatched in chunks)', async () => {
    const batch = getEngine().limits.maxComputeWorkgroupsPerDimension + 3;
    const a = randomNd([batch, 1, 2], 5, { lo: -4, hi: 4, integer: true });
    const b = randomNd([batch, 2, 1], 6, { lo: -4, hi: 4, integer: true });
    const ref = matmulRef(a, b);
    // 65,538 workgroups of the workgroup-memory kernel take over a minute on a CPU adapter: there the
    // tiled kernel's one-line offset (wid.z + u.bz0) is left to GPU runs.
    const variants = getEngine().adapter.isCpu ? MATMUL_VARIANTS.filter((v) => v !== 'tiled') : MATMUL_VARIANTS;
    for (const variant of variants) {
      const c = tidy(() => matmulRaw(fromNd(a), fromNd(b), { variant }));
      expect(Array.from(await c.data())).toEqual(Array.from(ref.data));
      c.dispose();
    }
  });
});

describe('variant choice', () => {
  afterEach(() => getEngine().setKernelOptions({ matmul: kernelOptionsFromEnv(process.env).matmul }));

  it("picks registers-only on CPU adapters (textures for llvmpipe's single products) and workgroup tiles on GPUs; the engine's option (SPOOFSCAN_MATMUL) overrides", () => {
    const e = getEngine();
    e.setKernelOptions({ matmul: undefined });
    const gl = e.adapter.backend === 'opengles';
    expect(defaultVariant(e)).toBe(!e.adapter.isCpu ? 'tiled' : gl ? 'texture' : 'blocked');
    const big = matmulGeometry([64, 64], [64, 64]);
    expect(64 ** 3).toBeGreaterThanOrEqual(TEXTURE_MIN_MACS);
    expect(defaultVariant(e, big)).toBe(!e.adapter.isCpu ? 'tiled' : gl ? 'texture' : 'blocked');
    // Small products, and batches of products under TEXTURE_MIN_BATCHED_MACS each, keep the blocked kernel on llvmpipe.
    expect(defaultVariant(e, matmulGeometry([8, 8], [8, 8]))).toBe(!e.adapter.isCpu ? 'tiled' : 'blocked');
    expect(defaultVariant(e, matmulGeometry([2, 64, 64], [64, 64]))).toBe(!e.adapter.isCpu ? 'tiled' : 'blocked');
    expect(defaultVariant(e, matmulGeometry([2, 256, 256], [256, 256]))).toBe(!e.adapter.isCpu ? 'tiled' : gl ? 'texture' : 'blocked');
    // Attention's heads (XLS-R: 16 × 201 × 201 × 64): both products take textures.
    expect(defaultVariant(e, matmulGeometry([16, 201, 64], [16, 201, 64], false, true))).toBe(!e.adapter.isCpu ? 'tiled' : gl ? 'texture' : 'blocked');
    expect(defaultVariant(e, matmulGeometry([16, 201, 201], [16, 201, 64]))).toBe(!e.adapter.isCpu ? 'tiled' : gl ? 'texture' : 'blocked');
    e.setKernelOptions({ matmul: 'naive' });
    expect(defaultVariant(e)).toBe('naive');
    expect(kernelOptionsFromEnv({ SPOOFSCAN_MATMUL: 'tiled' })).toEqual({ matmul: 'tiled' });
    expect(() => kernelOptionsFromEnv({ SPOOFSCAN_MATMUL: 'fast' })).toThrow(/SPOOFSCAN_MATMUL='fast' is not one of naive, blocked, tiled, lanes, texture/);
    expect(kernelOptionsFromEnv({ SPOOFSCAN_MATMUL_LARGE_TILE_MACS: 'Infinity' })).toEqual({ matmulLargeTileMacs: Infinity });
    expect(() => kernelOptionsFromEnv({ SPOOFSCAN_MATMUL_LARGE_TILE_MACS: 'big' })).toThrow(/SPOOFSCAN_MATMUL_LARGE_TILE_MACS='big'/);
  });

  it('uses an adapter-specific register tile for blocked', () => {
    const g = matmulGeometry([64, 64], [64, 64]);
    const sw = planMatmul('blocked', g, { backend: 'vulkan' });
    expect(sw.key).not.toBe(planMatmul('blocked', g, { backend: 'opengles' }).key);
    const gl = planMatmul('blocked', g, { backend: 'opengles' });
    // The key is the kernel's name and its parameters (kernels/define.ts): batch rank, operand modes, tile.
    expect(sw.key).toBe('matmul:blocked{modes:{a:"k4",b:"n4",c:"v4"},rb:1,tile:{tm:8,tn:8,wx:8,wy:4}}');
    expect(gl.key).toBe('matmul:blocked{modes:{a:"k4",b:"n4",c:"v4"},rb:1,tile:{tm:16,tn:16,wx:8,wy:4}}');
  });

  it('llvmpipe takes the large tile only for large products', () => {
    const small = planMatmul('blocked', matmulGeometry([64, 64], [64, 64]), { backend: 'opengles' });
    const large = planMatmul('blocked', matmulGeometry([512, 512], [512, 512]), { backend: 'opengles' });
    expect(small.key).toMatch(/^matmul:blocked\{.*tile:\{tm:16,tn:16,wx:8,wy:4\}\}$/);
    expect(large.key).toMatch(/^matmul:blocked\{.*tile:\{tm:32,tn:32,wx:8,wy:1\}\}$/);
    expect(planMatmul('blocked', matmulGeometry([512, 512], [512, 512]), { backend: 'vulkan' }).key).toMatch(/^matmul:blocked\{.*tile:\{tm:8,tn:8,wx:8,wy:4\}\}$/);
  });

  it('lanes needs B as vec4 along n and C as vec4, else it runs the blocked kernel', () => {
    const gl = { backend: 'opengles' } as const;
    expect(planMatmul('lanes', matmulGeometry([64, 64], [64, 64]), gl).key).toMatch(/^matmul:lanes\{modes:\{a:"k4",b:"n4",c:"v4"\},rb:1,tile:\{tm:\d+,tnv:\d+,wx:\d+\}\}$/);
    expect(planMatmul('lanes', matmulGeometry([64, 64], [64, 64], false, true), gl).key).toMatch(/^matmul:blocked\{/);
  });
});

describe('matmul backward', () => {
  /** Analytic gradients from backward() against the float64 VJP written from the definition. */
  async function checkGrad(c: Case, variant: MatmulVariant | undefined, seed: number): Promise<void> {
    const { aShape, bShape } = shapes(c);
    const a = randomNd(aShape, seed);
    const b = randomNd(bShape, seed + 1);
    const outShape = matmulRef(a, b, c).shape;
    const g = randomNd(outShape, seed + 2, { lo: -1, hi: 1 });
    const ref = matmulGradRef(a, b, g, c);
    const ta = requiresGrad(fromNd(a));
    const tb = requiresGrad(fromNd(b));
    const gt = fromNd(g);
    const y = matmul(ta, tb, { transA: c.transA, transB: c.transB, variant });
    backward(y, gt);
    // Each dA element sums N products per batch it was broadcast over (likewise dB with M).
    const reps = (own: number[]) => sizeOf(outShape.slice(0, -2)) / Math.max(1, sizeOf(own));
    const name = label(c, variant ?? 'default');
    expectClose(await ta.grad!.data(), ref.da.data, dotTol(c.N * reps(c.aBatch), g, b), `${name}: dA`, aShape);
    expectClose(await tb.grad!.data(), ref.db.data, dotTol(c.M * reps(c.bBatch), g, a), `${name}: dB`, bShape);
    for (const t of [ta, tb, ta.grad, tb.grad, gt, y] as (Tensor | null)[]) t?.dispose();
  }

  for (const variant of [undefined, ...MATMUL_VARIANTS]) {
    it(`${variant ?? 'default variant'}: dA and dB match the float64 gradient (transposes, broadcast batches)`, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, fc.integer({ min: 1, max: 1e6 }), (c, seed) => checkGrad(c, variant, seed)),
        runs(variant === undefined ? 20 : 8),
      );
    });
  }

  // matmulBias (a Linear layer): the texture kernel adds the bias as it stores, the others through a broadcast add.
  for (const variant of [undefined, 'texture', 'blocked'] as const) {
    it(`${variant ?? 'default variant'}: matmulBias forward and dA, dB, dbias match float64`, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, fc.integer({ min: 1, max: 1e6 }), async (c, seed) => {
          const { aShape, bShape } = shapes(c);
          const a = randomNd(aShape, seed);
          const b = randomNd(bShape, seed + 1);
          const bias = randomNd([c.N], seed + 3);
          const prod = matmulRef(a, b, c);
          const rows = prod.data.length / c.N;
          const want = prod.data.map((v, i) => v + bias.data[i % c.N]);
          const g = randomNd(prod.shape, seed + 2, { lo: -1, hi: 1 });
          const ref = matmulGradRef(a, b, g, c);
          const dbias = new Float64Array(c.N);
          g.data.forEach((v, i) => (dbias[i % c.N] += v));
          const [ta, tb, tbias] = [fromNd(a), fromNd(b), fromNd(bias)].map((t) => requiresGrad(t));
          const gt = fromNd(g);
          const y = matmulBias(ta, tb, tbias, { transA: c.transA, transB: c.transB, variant });
          backward(y, gt);
          const name = label(c, variant ?? 'default');
          const reps = (own: number[]) => sizeOf(prod.shape.slice(0, -2)) / Math.max(1, sizeOf(own));
          const tol = dotTol(c.K, a, b);
          expectClose(await y.data(), want, { rtol: 0, atol: tol.atol + 1e-6 * maxAbs(bias) }, `${name}: forward`, prod.shape);
          expectClose(await ta.grad!.data(), ref.da.data, dotTol(c.N * reps(c.aBatch), g, b), `${name}: dA`, aShape);
          expectClose(await tb.grad!.data(), ref.db.data, dotTol(c.M * reps(c.bBatch), g, a), `${name}: dB`, bShape);
          expectClose(await tbias.grad!.data(), dbias, { rtol: 0, atol: 4e-6 * Math.sqrt(rows) }, `${name}: dbias`, [c.N]);
          for (const t of [ta, tb, tbias, ta.grad, tb.grad, tbias.grad, gt, y] as (Tensor | null)[]) t?.dispose();
        }),
        runs(10),
      );
    });
  }

  it('matmulBias rejects a bias that is not [N]', () => {
    const a = tensor(new Float32Array(6), [2, 3]);
    const b = tensor(new Float32Array(12), [3, 4]);
    expect(() => matmulBias(a, b, tensor(new Float32Array(3), [3]))).toThrow(/matmul: bias .* must have shape \[4\]/);
    expect(() => matmulBias(a, b, tensor(new Float32Array(4), [1, 4]))).toThrow(/must have shape \[4\]/);
  });

  // Coarse finite-difference check: independent of the reference formula above.
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`finite differences agree with backward (transA ${transA}, transB ${transB}, broadcast batch)`, async () => {
        const c: Case = { M: 3, N: 4, K: 5, transA, transB, aBatch: [2, 1], bBatch: [3] };
        const { aShape, bShape } = shapes(c);
        await gradcheck((x, w) => matmul(x, w, { transA, transB }), [randomNd(aShape, 11, { lo: -1, hi: 1 }), randomNd(bShape, 12, { lo: -1, hi: 1 })], {
          label: label(c, 'default'),
          step: 1e-2,
          // matmul is bilinear: central differences are exact up to float32 rounding of the loss.
          rtol: 1e-2,
          atol: 2e-3,
        });
      });
    }
  }
});
