// Batched matmul C[..., M, N] = op(A)[..., M, K] · op(B)[..., K, N], op = optional transpose,
// with broadcasting batch dims. Transposes are read through strides, never copied.
// Kernel variants (chosen per adapter; see kernels/matmul-kernels.ts): 'naive' (reference),
// 'blocked' (registers only, vec4 loads when aligned: CPU adapters) and 'tiled' (workgroup
// memory, vec4: real GPUs). The engine's kernel option `matmul` (SPOOFSCAN_MATMUL=naive|blocked|tiled in
// Node) overrides the choice.
import { record } from '../engine/autograd.ts';
import type { Engine } from '../engine/runtime.ts';
import { broadcastShapes, broadcastStrides, formatShape, sizeOf } from '../engine/shape.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { checkRank, collapseDims, requireDType } from './util.ts';
import { sumTo } from './reduce-kernel.ts';
import { dispatchMatmul, type MatmulGeometry, type MatmulTile, type MatmulVariant } from './matmul-kernels.ts';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** Force a kernel variant (benchmarks and tests); default picks by adapter. */
  variant?: MatmulVariant;
  /** Register tile of the 'blocked' or 'lanes' variant (tuning and benchmarks); default per adapter. */
  blockedTile?: MatmulTile;
}

/** The engine's variant: its kernel option, else registers-only on CPU emulators and workgroup tiles on GPUs. */
export function defaultVariant(engine: Engine): MatmulVariant {
  return engine.kernelOptions.matmul ?? (engine.adapter.isCpu ? 'blocked' : 'tiled');
}

/** Sizes and strides of op(A)·op(B) for inputs of these shapes (throws on mismatched dims). */
export function matmulGeometry(
  aShape: readonly number[],
  bShape: readonly number[],
  transA = false,
  transB = false,
): MatmulGeometry & { outShape: number[] } {
  const op = 'matmul';
  if (aShape.length < 2 || bShape.length < 2) {
    throw new Error(`matmul: both inputs need at least 2 dims, got ${formatShape(aShape)} and ${formatShape(bShape)}`);
  }
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (K !== Kb) {
    throw new Error(
      `matmul: inner dimensions differ: ${formatShape(aShape)}${transA ? 'ᵀ' : ''} · ${formatShape(bShape)}${transB ? 'ᵀ' : ''} (K = ${K} vs ${Kb})`,
    );
  }
  const batch = broadcastShapes(op, aShape.slice(0, -2), bShape.slice(0, -2));
  const aBatch = broadcastStrides(aShape.slice(0, -2), batch).map((s) => s * ar * ac);
  const bBatch = broadcastStrides(bShape.slice(0, -2), batch).map((s) => s * br * bc);
  const c = collapseDims(batch, [aBatch, bBatch]);
  return {
    M,
    N,
    K,
    batch: sizeOf(batch),
    batchShape: c.shape,
    aBatchStrides: c.strides[0],
    bBatchStrides: c.strides[1],
    // element strides along m and k of A, and along k and n of B
    sam: transA ? 1 : ac,
    sak: transA ? ac : 1,
    sbk: transB ? 1 : bc,
    sbn: transB ? bc : 1,
    outShape: [...batch, M, N],
  };
}

/** Forward only, no autograd record (used by backward and by benchmarks). */
export function matmulRaw(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  requireDType('matmul', a, ['f32'], 'first input');
  requireDType('matmul', b, ['f32'], 'second input');
  checkRank('matmul', a);
  checkRank('matmul', b);
  const g = matmulGeometry(a.shape, b.shape, Boolean(opts.transA), Boolean(opts.transB));
  const engine = engineOf('matmul', [a, b]);
  const c = allocate(g.outShape, 'f32', 'matmul', engine);
  if (c.size > 0) dispatchMatmul(opts.variant ?? defaultVariant(engine), a, b, c, g, opts.blockedTile);
  return c;
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = Boolean(opts.transA);
  const transB = Boolean(opts.transB);
  const c = matmulRaw(a, b, opts);
  // The backward products use the same kernel choice as the forward.
  const kernel = { variant: opts.variant, blockedTile: opts.blockedTile };
  return record(
    'matmul',
    [a, b],
    c,
    (g, [sa, sb]) => {
      // C = A·B: dA = G·Bᵀ, dB = Aᵀ·G, with the transposes folded into the flags.
      let da: Tensor | null = null;
      let db: Tensor | null = null;
      if (a.requiresGrad) {
        const full = transA ? matmulRaw(sb, g, { ...kernel, transA: transB, transB: true }) : matmulRaw(g, sb, { ...kernel, transB: !transB });
        da = sumTo(full, a.shape);
        full.dispose();
      }
      if (b.requiresGrad) {
        const full = transB ? matmulRaw(g, sa, { ...kernel, transA: true, transB: transA }) : matmulRaw(sa, g, { ...kernel, transA: !transA });
        db = sumTo(full, b.shape);
        full.dispose();
      }
      return [da, db];
    },
    [a, b],
  );
}
