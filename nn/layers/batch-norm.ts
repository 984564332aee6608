// BatchNorm1d (PyTorch semantics): weight, bias, running_mean, running_var and num_batches_tracked, all module
// state. The kernel increments the count on every train-mode update; here that count is the Counter buffer.
import type { Tensor } from '../../engine/index.ts';
import { batchNorm, type BatchNormState } from '../../kernels/index.ts';
import type { ParamBuilder } from '../builder.ts';
import type { Counter } from '../counter.ts';
import { Module } from '../module.ts';

export class BatchNorm1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Counter;
  /** The kernel's view of this module's state (its numBatchesTracked reads and writes the Counter). */
  readonly state: BatchNormState;

  constructor(p: ParamBuilder, channels: number, opts: { eps?: number; momentum?: number } = {}) {
    super();
    this.weight = this.param(p, 'weight', [channels]);
    this.bias = this.param(p, 'bias', [channels]);
    this.runningMean = this.buffer(p, 'running_mean', [channels]);
    this.runningVar = this.buffer(p, 'running_var', [channels]);
    const counter = (this.numBatchesTracked = this.counter(p, 'num_batches_tracked'));
    this.state = {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      get numBatchesTracked() {
        return counter.value;
      },
      set numBatchesTracked(n: number) {
        counter.value = n;
      },
      eps: opts.eps,
      momentum: opts.momentum,
    };
  }

  /** Train mode (default: the module's flag) normalises with batch statistics and updates the running ones. */
  forward(x: Tensor, training = this.training): Tensor {
    return batchNorm(x, this.state, training);
  }
}
