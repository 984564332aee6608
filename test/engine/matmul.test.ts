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
import { defaultVariant, matmul, matmulGeometry, matmulRaw } from '../../kernels/matmul.ts';
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

  it("picks registers-only on CPU adapters and workgroup tiles on GPUs; the engine's option (SPOOFSCAN_MATMUL) overrides", () => {
    const e = getEngine();
    e.setKernelOptions({ matmul: undefined });
    expect(defaultVariant(e)).toBe(e.adapter.isCpu ? 'blocked' : 'tiled');
    e.setKernelOptions({ matmul: 'naive' });
    expect(defaultVariant(e)).toBe('naive');
    expect(kernelOptionsFromEnv({ SPOOFSCAN_MATMUL: 'tiled' })).toEqual({ matmul: 'tiled' });
    expect(() => kernelOptionsFromEnv({ SPOOFSCAN_MATMUL: 'fast' })).toThrow(/SPOOFSCAN_MATMUL='fast' is not one of naive, blocked, tiled, lanes/);
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
