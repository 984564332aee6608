// conv1d with PyTorch semantics (torch.nn.functional.conv1d): x [B, Cin, L], weight
// [Cout, Cin/groups, K], optional bias [Cout], stride, symmetric zero padding, dilation, groups.
// Forward and both gradients are implicit GEMMs per (batch, group) (kernels/conv1d-kernels.ts);
// the only extra memory is re-laid-out copies of the operands (padded input, channel-last weight,
// transposed output gradient), never an im2col matrix. `impl: 'im2col'` runs the explicit
// im2col + matmul baseline instead (kernels/conv1d-im2col.ts).
import { record } from '../engine/autograd.ts';
import type { Engine } from '../engine/runtime.ts';
import { formatShape } from '../engine/shape.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { sum } from './reduce.ts';
import { requireDType } from './util.ts';
import {
  channelTile,
  convForward,
  convInputGrad,
  convTileFor,
  convWeightGrad,
  inputGradPadding,
  pack,
  roundUp,
  type ConvGeometry,
  type ConvTile,
} from './conv1d-kernels.ts';
import { conv1dIm2col } from './conv1d-im2col.ts';

export type { ConvGeometry, ConvTile } from './conv1d-kernels.ts';

export interface Conv1dOptions {
  stride?: number;
  /** Zero padding on both ends (PyTorch's int `padding`). */
  padding?: number;
  dilation?: number;
  groups?: number;
  /**
   * Output frames dropped at the end without being computed (wav2vec2's SamePad for an even
   * kernel drops 1). Their gradient is zero, exactly as slicing them off would give.
   */
  trimEnd?: number;
  /**
   * 'implicit': the implicit-GEMM kernels; 'im2col': explicit im2col + matmul. Default: the engine's
   * kernel option `conv` (SPOOFSCAN_CONV=implicit|im2col in Node), else per adapter (`defaultConvImpl`).
   */
  impl?: 'implicit' | 'im2col';
}

/** Largest im2col matrix the default choice accepts (bytes). */
const IM2COL_DEFAULT_MAX_BYTES = 256 * 2 ** 20;

/**
 * The default path for this geometry, from `bench conv` on the XLS-R shapes. Grouped convs (the
 * positional conv) always use the implicit kernels (1.4–1.7× faster on an H100/H200, 1.4–1.5× on
 * SwiftShader). Ungrouped convs with a modest im2col matrix: on GPUs, those with a real reduction
 * (Cin·K ≥ 64, encoder blocks 1–6) go through the tuned tiled matmul (1.1–2.9× faster there) and the
 * 1-channel first block stays implicit (1.6–3.2× faster); on CPU adapters it is the other way round
 * (blocks 1–6 implicit 1.04–1.33× faster, the first block im2col 1.3–1.4× faster), except on llvmpipe.
 */
export function defaultConvImpl(g: ConvGeometry, engine: Engine): 'implicit' | 'im2col' {
  const forced = engine.kernelOptions.conv;
  if (forced) return forced;
  const shortReduction = g.Cin * g.K < 64;
  const colBytes = 4 * g.B * g.Cin * g.K * g.Lout;
  const fits = colBytes <= Math.min(IM2COL_DEFAULT_MAX_BYTES, engine.limits.maxStorageBufferBindingSize);
  // llvmpipe: its texture matmul makes im2col 1.2–1.9× faster for every conv with a real reduction,
  // grouped ones included (issue 15, bench/results/conv-llvmpipe-texture.json).
  if (engine.adapter.backend === 'opengles') return !shortReduction && fits ? 'im2col' : 'implicit';
  if (g.groups !== 1 || shortReduction !== engine.adapter.isCpu) return 'implicit';
  return fits ? 'im2col' : 'implicit';
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new Error(`conv1d: ${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/** Output length of torch conv1d: ⌊(L + 2p − d·(K − 1) − 1)/s⌋ + 1 (may be ≤ 0 for too-short inputs). */
export function conv1dOutputLength(L: number, K: number, stride = 1, padding = 0, dilation = 1): number {
  return Math.floor((L + 2 * padding - dilation * (K - 1) - 1) / stride) + 1;
}

/** Checks shapes and options; throws an error naming the mismatch. */
export function conv1dGeometry(xShape: readonly number[], wShape: readonly number[], opts: Conv1dOptions = {}): ConvGeometry {
  const stride = positiveInt('stride', opts.stride ?? 1, 1);
  const padding = positiveInt('padding', opts.padding ?? 0, 0);
  const dilation = positiveInt('dilation', opts.dilation ?? 1, 1);
  const groups = positiveInt('groups', opts.groups ?? 1, 1);
  const trimEnd = positiveInt('trimEnd', opts.trimEnd ?? 0, 0);
  if (xShape.length !== 3) throw new Error(`conv1d: input must be [batch, channels, length], got ${formatShape(xShape)}`);
  if (wShape.length !== 3) throw new Error(`conv1d: weight must be [out_channels, in_channels/groups, kernel], got ${formatShape(wShape)}`);
  const [B, Cin, L] = xShape;
  const [Cout, Cing, K] = wShape;
  if (Cin % groups !== 0 || Cout % groups !== 0) {
    throw new Error(`conv1d: groups=${groups} must divide both in_channels ${Cin} and out_channels ${Cout}`);
  }
  if (Cing !== Cin / groups) {
    throw new Error(`conv1d: weight ${formatShape(wShape)} expects ${Cing * groups} input channels (${Cing} per group × ${groups} groups) but input ${formatShape(xShape)} has ${Cin}`);
  }
  if (K < 1 || Cout < 1 || B < 1 || Cin < 1) throw new Error(`conv1d: empty input ${formatShape(xShape)} or weight ${formatShape(wShape)}`);
  const full = conv1dOutputLength(L, K, stride, padding, dilation);
  if (full < 1) {
    const need = dilation * (K - 1) + 1 - 2 * padding;
    throw new Error(`conv1d: input length ${L} is shorter than the receptive field: kernel ${K}, dilation ${dilation}, padding ${padding} need at least ${need} samples`);
  }
  const Lout = full - trimEnd;
  if (Lout < 1) throw new Error(`conv1d: trimEnd=${trimEnd} removes all ${full} output frames`);
  return { B, Cin, L, Cout, K, stride, padding, dilation, groups, Cing, Coutg: Cout / groups, Lout, Lp: L + 2 * padding };
}

/** The kernels' tiling on `engine`: per adapter, with the engine's kernel option `convTile` on top. */
export function conv1dTile(engine: Engine): ConvTile {
  return { ...convTileFor(engine.adapter), ...engine.kernelOptions.convTile };
}

/** x padded in time by p on both sides (a view of x when p = 0). */
function padInput(g: ConvGeometry, x: Tensor, op: string): Tensor {
  if (g.padding === 0) return x.view(x.shape);
  const xp = allocate([g.B, g.Cin, g.Lp], 'f32', op, engineOf(op, [x]));
  pack(op, x, xp, [1, g.B, g.Cin, g.Lp], [0, g.Cin * g.L, g.L, 1], g.padding, g.padding + g.L);
  return xp;
}

/** Forward without autograd. */
export function conv1dForwardRaw(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  const engine = engineOf('conv1d', bias ? [x, w, bias] : [x, w]);
  const tile = conv1dTile(engine);
  const tm = channelTile(g.Coutg);
  const CP = roundUp(g.Coutg, tm);
  const xp = padInput(g, x, 'conv1d');
  // Weight [Cout, Cing, K] → [G, K, Cing, CP]: output channels last, zero-padded to the tile.
  const wp = allocate([g.groups, g.K, g.Cing, CP], 'f32', 'conv1d', engine);
  pack('conv1d', w, wp, [g.groups, g.K, g.Cing, CP], [g.Coutg * g.Cing * g.K, 1, g.K, g.Cing * g.K], 0, g.Coutg);
  const y = convForward(g, xp, wp, bias, tile, tm);
  xp.dispose();
  wp.dispose();
  return y;
}

/** dL/dx for the output gradient dy [B, Cout, Lout]. */
export function conv1dInputGradRaw(g: ConvGeometry, dy: Tensor, w: Tensor): Tensor {
  const op = 'conv1d.backward';
  const engine = engineOf(op, [dy, w]);
  const tile = conv1dTile(engine);
  const tm = channelTile(g.Cing);
  const CIP = roundUp(g.Cing, tm);
  const { PL, PR } = inputGradPadding(g);
  const Ltp = PL + g.Lout + PR;
  const dyp = allocate([g.B, g.Cout, Ltp], 'f32', op, engine);
  pack(op, dy, dyp, [1, g.B, g.Cout, Ltp], [0, g.Cout * g.Lout, g.Lout, 1], PL, PL + g.Lout);
  // Weight [Cout, Cing, K] → [G, K, Coutg, CIP]: input channels last.
  const wt = allocate([g.groups, g.K, g.Coutg, CIP], 'f32', op, engine);
  pack(op, w, wt, [g.groups, g.K, g.Coutg, CIP], [g.Coutg * g.Cing * g.K, 1, g.Cing * g.K, g.K], 0, g.Cing);
  const dx = convInputGrad(g, dyp, wt, tile, tm);
  dyp.dispose();
  wt.dispose();
  return dx;
}

/** dL/dweight for the output gradient dy [B, Cout, Lout]. */
export function conv1dWeightGradRaw(g: ConvGeometry, dy: Tensor, x: Tensor): Tensor {
  const op = 'conv1d.backward';
  const engine = engineOf(op, [dy, x]);
  const tile = conv1dTile(engine);
  const tm = channelTile(g.Coutg);
  const CP = roundUp(g.Coutg, tm);
  const xp = padInput(g, x, op);
  // dy [B, Cout, Lout] → [B, Lout, G, CP]: output channels last.
  const dyt = allocate([g.B, g.Lout, g.groups, CP], 'f32', op, engine);
  pack(op, dy, dyt, [g.B, g.Lout, g.groups, CP], [g.Cout * g.Lout, 1, g.Coutg * g.Lout, g.Lout], 0, g.Coutg);
  const dw = convWeightGrad(g, xp, dyt, tile, tm);
  xp.dispose();
  dyt.dispose();
  return dw;
}

function checkInputs(x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv1dOptions): ConvGeometry {
  requireDType('conv1d', x, ['f32'], 'input');
  requireDType('conv1d', w, ['f32'], 'weight');
  const g = conv1dGeometry(x.shape, w.shape, opts);
  if (bias) {
    requireDType('conv1d', bias, ['f32'], 'bias');
    if (bias.rank !== 1 || bias.shape[0] !== g.Cout) throw new Error(`conv1d: bias must be [${g.Cout}], got ${formatShape(bias.shape)}`);
  }
  return g;
}

/**
 * y[b, o, t] = bias[o] + Σ_i Σ_k w[o, i, k] · x[b, G(o)·Cin/groups + i, t·stride + k·dilation − padding].
 * Differentiable in x, w and bias.
 */
export function conv1d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv1dOptions = {}): Tensor {
  const g = checkInputs(x, w, bias, opts);
  if (opts.impl !== undefined && opts.impl !== 'implicit' && opts.impl !== 'im2col') {
    throw new Error(`conv1d: impl must be 'implicit' or 'im2col', got '${String(opts.impl)}'`);
  }
  if ((opts.impl ?? defaultConvImpl(g, engineOf('conv1d', bias ? [x, w, bias] : [x, w]))) === 'im2col') return conv1dIm2col(g, x, w, bias);
  const y = conv1dForwardRaw(g, x, w, bias);
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(
    'conv1d',
    inputs,
    y,
    (dy, [sx, sw]) => [
      x.requiresGrad ? conv1dInputGradRaw(g, dy, sw) : null,
      w.requiresGrad ? conv1dWeightGradRaw(g, dy, sx) : null,
      bias?.requiresGrad ? sum(dy, [0, 2]) : null,
    ],
    [x, w],
  );
}
