// Batched matmul C[..., M, N] = op(A)[..., M, K] · op(B)[..., K, N], op = optional transpose,
// with broadcasting batch dims. Transposes are read through strides, never copied.
// Kernel variants (chosen per adapter; see kernels/matmul-kernels.ts): 'naive' (reference),
// 'blocked' (registers only, vec4 loads when aligned: CPU adapters), 'texture' (operands packed into
// textures, registers only: llvmpipe) and 'tiled' (workgroup memory, vec4: real GPUs). The engine's kernel option `matmul` (SPOOFSCAN_MATMUL=naive|blocked|tiled in
// Node) overrides the choice.
import { noGrad, record } from '../engine/autograd.ts';
import type { Engine } from '../engine/runtime.ts';
import { broadcastShapes, broadcastStrides, formatShape, sizeOf } from '../engine/shape.ts';
import { allocate, engineOf, type BackwardFn, type Tensor } from '../engine/tensor.ts';
import { add } from './elementwise.ts';
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

/** A single product from this many multiply-adds takes llvmpipe's texture kernel by default (below, packing costs more than it saves). */
export const TEXTURE_MIN_MACS = 2 ** 18;
/** A batch needs this many per product: its packing runs per operand over the whole batch (attention's heads qualify). */
export const TEXTURE_MIN_BATCHED_MACS = 2 ** 21;

/**
 * The engine's variant: its kernel option, else workgroup tiles on GPUs and registers-only on CPU emulators,
 * except llvmpipe, which takes the texture kernel for large products (without a geometry: the variant its
 * large products get).
 */
export function defaultVariant(engine: Engine, g?: MatmulGeometry): MatmulVariant {
  if (engine.kernelOptions.matmul) return engine.kernelOptions.matmul;
  if (!engine.adapter.isCpu) return 'tiled';
  if (engine.adapter.backend !== 'opengles') return 'blocked';
  if (!g) return 'texture';
  const macs = g.M * g.N * g.K;
  return macs >= (g.batch === 1 ? TEXTURE_MIN_MACS : TEXTURE_MIN_BATCHED_MACS) ? 'texture' : 'blocked';
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

/** Forward only, no autograd record (used by backward and by benchmarks). `bias` ([N]) is added to every row. */
export function matmulRaw(a: Tensor, b: Tensor, opts: MatmulOptions = {}, bias: Tensor | null = null): Tensor {
  requireDType('matmul', a, ['f32'], 'first input');
  requireDType('matmul', b, ['f32'], 'second input');
  checkRank('matmul', a);
  checkRank('matmul', b);
  const g = matmulGeometry(a.shape, b.shape, Boolean(opts.transA), Boolean(opts.transB));
  if (bias) {
    requireDType('matmul', bias, ['f32'], 'bias');
    if (bias.rank !== 1 || bias.shape[0] !== g.N) throw new Error(`matmul: bias ${bias.describe()} must have shape [${g.N}] (the output's last dim)`);
  }
  const engine = engineOf('matmul', bias ? [a, b, bias] : [a, b]);
  const c = allocate(g.outShape, 'f32', 'matmul', engine);
  if (c.size === 0) return c;
  // The texture kernel adds the bias as it stores; the others leave it to a broadcast add.
  const fused = dispatchMatmul(opts.variant ?? defaultVariant(engine, g), a, b, c, g, opts.blockedTile, bias);
  if (!bias || fused) return c;
  const out = noGrad(() => add(c, bias));
  c.dispose();
  return out;
}

/** The gradients of op(A)·op(B) (+ bias) from G: dA = G·op(B)ᵀ, dB = op(A)ᵀ·G with the transposes folded into flags, dbias = Σ rows of G. */
function matmulBackward(a: Tensor, b: Tensor, bias: Tensor | null, opts: MatmulOptions): BackwardFn {
  const transA = Boolean(opts.transA);
  const transB = Boolean(opts.transB);
  // The backward products use the same kernel choice as the forward.
  const kernel = { variant: opts.variant, blockedTile: opts.blockedTile };
  return (g, [sa, sb]) => {
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
    const grads = [da, db];
    if (bias) grads.push(bias.requiresGrad ? sumTo(g, bias.shape) : null);
    return grads;
  };
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  return record('matmul', [a, b], matmulRaw(a, b, opts), matmulBackward(a, b, null, opts), [a, b]);
}

/** op(A)·op(B) + bias, bias [N] on every row (a Linear layer), differentiable in all three; fused on llvmpipe. */
export function matmulBias(a: Tensor, b: Tensor, bias: Tensor, opts: MatmulOptions = {}): Tensor {
  return record('matmul', [a, b, bias], matmulRaw(a, b, opts, bias), matmulBackward(a, b, bias, opts), [a, b]);
}
