// Parameters indexed 0…n−1 under one name (`weighted_sum.0`, `weighted_sum.1`, …), like PyTorch's ParameterList.
import type { Tensor } from '../engine/index.ts';
import type { ParamBuilder } from './builder.ts';
import { Module } from './module.ts';

export class ParamList extends Module {
  readonly items: Tensor[] = [];

  constructor(p: ParamBuilder, shapes: readonly (readonly number[])[]) {
    super();
    shapes.forEach((shape, i) => this.items.push(this.param(p, String(i), shape)));
  }

  at(i: number): Tensor {
    const t = this.items[i];
    if (!t) throw new Error(`ParamList: no item ${i} of ${this.items.length}`);
    return t;
  }
}
