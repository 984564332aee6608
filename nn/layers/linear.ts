// y = x·Wᵀ + b over the last axis (PyTorch nn.Linear: weight [out, in], bias [out]).
import { tidy, type Tensor } from '../../engine/index.ts';
import { matmul, matmulBias, reshape } from '../../kernels/index.ts';
import type { ParamBuilder } from '../builder.ts';
import { Module } from '../module.ts';

/** x [..., in] · Wᵀ + b; inputs of rank > 2 run as one 2-D GEMM over the flattened leading axes. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  // One op with the bias: llvmpipe's texture matmul adds it as it stores the product.
  const product = (x2: Tensor) => (b ? matmulBias(x2, w, b, { transB: true }) : matmul(x2, w, { transB: true }));
  if (x.rank === 2) return product(x);
  return tidy(() => {
    const lead = x.shape.slice(0, -1);
    const y = product(reshape(x, [lead.reduce((a, c) => a * c, 1), x.shape[x.rank - 1]]));
    return reshape(y, [...lead, w.shape[0]]);
  });
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(p: ParamBuilder, readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    this.weight = this.param(p, 'weight', [outFeatures, inFeatures]);
    this.bias = (opts.bias ?? true) ? this.param(p, 'bias', [outFeatures]) : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
