// conv1d on channels-last tensors, x [B, L, Cin] → y [B, Lout, Cout]: what the XLS-R feature encoder's
// LayerNorm over channels wants between its conv blocks. On llvmpipe's texture path the packing reads that
// layout and the product writes it, so the two transposes per block that the channels-first conv needs
// (12.9k × 512 floats each for the first blocks of a 4 s clip) are not made; elsewhere it is exactly
// transpose → conv1d → transpose. The gradient runs through the channels-first kernels.
import { noGrad, record } from '../engine/autograd.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { add } from './elementwise.ts';
import { conv1d, conv1dGeometry, conv1dInputGradRaw, conv1dWeightGradRaw, defaultConvImpl, type Conv1dOptions } from './conv1d.ts';
import { conv1dTextureForward, convTexturePlan } from './conv1d-texture.ts';
import { transpose } from './layout.ts';
import { sum } from './reduce.ts';
import { tidy } from '../engine/scope.ts';

/** y [B, Lout, Cout] = conv1d of x [B, L, Cin] (same options and semantics as conv1d), differentiable in x, w and bias. */
export function conv1dChannelsLast(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv1dOptions = {}): Tensor {
  if (x.rank !== 3) throw new Error(`conv1d: channels-last input must be [B, L, C], got rank ${x.rank}`);
  const [B, L, Cin] = x.shape;
  const g = conv1dGeometry([B, Cin, L], w.shape, opts);
  const engine = engineOf('conv1d', bias ? [x, w, bias] : [x, w]);
  const plan = (opts.impl ?? defaultConvImpl(g, engine)) === 'im2col' ? convTexturePlan(g, engine, true) : null;
  if (!plan) return tidy(() => transpose(conv1d(transpose(x, 1, 2), w, bias, opts), 1, 2));
  let y = allocate([g.B, g.Lout, g.Cout], 'f32', 'conv1d', engine);
  const fused = y.size > 0 && conv1dTextureForward(engine, g, x, w, y, plan, { channelsLast: true, bias }).fusedBias;
  if (bias && !fused) {
    const yb = noGrad(() => add(y, bias));
    y.dispose();
    y = yb;
  }
  return record(
    'conv1d',
    bias ? [x, w, bias] : [x, w],
    y,
    (dy, [sx, sw]) =>
      tidy(() => {
        const dyc = transpose(dy, 1, 2);
        const dx = x.requiresGrad ? transpose(conv1dInputGradRaw(g, dyc, sw), 1, 2) : null;
        const dw = w.requiresGrad ? conv1dWeightGradRaw(g, dyc, transpose(sx, 1, 2)) : null;
        const db = bias?.requiresGrad ? sum(dy, [0, 1]) : null;
        return [dx, dw, db];
      }),
    [x, w],
  );
}
