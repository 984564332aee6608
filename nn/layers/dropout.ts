// Dropout with an explicit seed (a run is a pure function of its seeds): identity, with nothing recorded, in
// eval mode or at rate 0.
import type { Tensor } from '../../engine/index.ts';
import { dropout } from '../../kernels/index.ts';

export class Dropout {
  constructor(readonly rate: number) {}

  forward(x: Tensor, training: boolean, seed: () => number): Tensor {
    if (!training || this.rate === 0) return x;
    return dropout(x, this.rate, seed(), true);
  }
}
