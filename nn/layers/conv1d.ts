// Conv1d (PyTorch nn.Conv1d) with optional weight normalisation over the kernel axis (torch weight_norm with
// dim=2, as wav2vec 2.0's positional conv: parameters weight_g [1, 1, K] and weight_v [out, in/groups, K]).
import { isGradEnabled, keep, type Tensor } from '../../engine/index.ts';
import { foldWeightNorm, reshape } from '../../kernels/index.ts';
import { conv1d, type Conv1dOptions } from '../../kernels/conv1d.ts';
import { conv1dChannelsLast } from '../../kernels/conv1d-channels-last.ts';
import { weightNorm } from '../../kernels/weight-norm.ts';
import type { ParamBuilder } from '../builder.ts';
import { Module } from '../module.ts';

export interface Conv1dConfig {
  inChannels: number;
  outChannels: number;
  kernel: number;
  bias?: boolean;
  groups?: number;
  /** Weight normalised over the kernel axis (weight_g, weight_v) instead of a plain weight. */
  weightNorm?: boolean;
  /** Stored weight shape when it differs from [out, in/groups, K] (a Conv2d kernel [out, in, K, 1] used as 1-D). */
  weightShape?: readonly number[];
  /** Defaults for forward: stride, padding, dilation, trimEnd. */
  conv?: Omit<Conv1dOptions, 'groups'>;
}

export class Conv1d extends Module {
  readonly weight: Tensor | null = null;
  readonly weightG: Tensor | null = null;
  readonly weightV: Tensor | null = null;
  readonly bias: Tensor | null;
  private readonly shape: number[];

  constructor(p: ParamBuilder, readonly c: Conv1dConfig) {
    super();
    const groups = c.groups ?? 1;
    this.shape = [c.outChannels, c.inChannels / groups, c.kernel];
    if (c.weightNorm) {
      this.weightG = this.param(p, 'weight_g', [1, 1, c.kernel]);
      this.weightV = this.param(p, 'weight_v', this.shape);
    } else {
      this.weight = this.param(p, 'weight', c.weightShape ?? this.shape);
    }
    this.bias = (c.bias ?? true) ? this.param(p, 'bias', [c.outChannels]) : null;
  }

  /** The folded weight norm g·v/‖v‖ of the last inference call, with the versions of g and v it came from. */
  private folded: { w: Tensor; key: string } | null = null;

  /**
   * The [out, in/groups, K] kernel the convolution uses (weight-normalised when configured). When nothing
   * needs a gradient the weight norm is folded once and kept until a kernel writes g or v (an optimizer
   * step, loading a state): the XLS-R positional conv's costs 0.1–0.2 s per forward on a CPU adapter.
   */
  kernelTensor(): Tensor {
    const { weightG: g, weightV: v } = this;
    if (g && v) {
      if (isGradEnabled() && (g.requiresGrad || v.requiresGrad)) return weightNorm(g, v, 2);
      const sg = g.storageFor('conv1d');
      const sv = v.storageFor('conv1d');
      const key = `${g.id}:${sg.version}:${v.id}:${sv.version}`;
      if (this.folded?.key !== key) {
        this.folded?.w.dispose();
        this.folded = { w: keep(foldWeightNorm(g, v, 2)), key };
      }
      return this.folded.w;
    }
    const w = this.weight!;
    return w.rank === 3 ? w : reshape(w, this.shape);
  }

  protected override dropCaches(): void {
    this.folded?.w.dispose();
    this.folded = null;
  }

  /** x [B, in, L] → [B, out, L']. */
  forward(x: Tensor, opts: Omit<Conv1dOptions, 'groups'> = {}): Tensor {
    return conv1d(x, this.kernelTensor(), this.bias, { ...this.c.conv, ...opts, groups: this.c.groups ?? 1 });
  }

  /** Channels-last x [B, L, in] → [B, L', out]: the same convolution (kernels/conv1d-channels-last.ts). */
  forwardChannelsLast(x: Tensor, opts: Omit<Conv1dOptions, 'groups'> = {}): Tensor {
    return conv1dChannelsLast(x, this.kernelTensor(), this.bias, { ...this.c.conv, ...opts, groups: this.c.groups ?? 1 });
  }
}
