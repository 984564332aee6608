// Conv1d (PyTorch nn.Conv1d) with optional weight normalisation over the kernel axis (torch weight_norm with
// dim=2, as wav2vec 2.0's positional conv: parameters weight_g [1, 1, K] and weight_v [out, in/groups, K]).
import type { Tensor } from '../../engine/index.ts';
import { reshape } from '../../kernels/index.ts';
import { conv1d, type Conv1dOptions } from '../../kernels/conv1d.ts';
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

  /** The [out, in/groups, K] kernel the convolution uses (weight-normalised when configured). */
  kernelTensor(): Tensor {
    if (this.weightG && this.weightV) return weightNorm(this.weightG, this.weightV, 2);
    const w = this.weight!;
    return w.rank === 3 ? w : reshape(w, this.shape);
  }

  /** x [B, in, L] → [B, out, L']. */
  forward(x: Tensor, opts: Omit<Conv1dOptions, 'groups'> = {}): Tensor {
    return conv1d(x, this.kernelTensor(), this.bias, { ...this.c.conv, ...opts, groups: this.c.groups ?? 1 });
  }
}
