// LayerNorm over the last axis and GroupNorm over channel groups of [B, C, …] (PyTorch's affine versions).
import type { Tensor } from '../../engine/index.ts';
import { groupNorm, layerNorm } from '../../kernels/index.ts';
import type { ParamBuilder } from '../builder.ts';
import { Module } from '../module.ts';

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(p: ParamBuilder, dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.param(p, 'weight', [dim]);
    this.bias = this.param(p, 'bias', [dim]);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class GroupNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(p: ParamBuilder, readonly groups: number, channels: number, readonly eps = 1e-5) {
    super();
    this.weight = this.param(p, 'weight', [channels]);
    this.bias = this.param(p, 'bias', [channels]);
  }

  forward(x: Tensor): Tensor {
    return groupNorm(x, this.groups, this.weight, this.bias, this.eps);
  }
}
