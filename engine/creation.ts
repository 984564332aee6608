// Seeded random tensors (host-generated, identical in Node and browsers), on `engine` (default: the current one).
import { Rng } from './random.ts';
import { getEngine, type Engine } from './runtime.ts';
import { sizeOf } from './shape.ts';
import { tensor, type Tensor } from './tensor.ts';

export function randn(shape: readonly number[], seed: number, std = 1, engine: Engine = getEngine()): Tensor {
  const rng = new Rng(seed);
  const v = new Float32Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
  return tensor(v, shape, 'f32', engine);
}

export function rand(shape: readonly number[], seed: number, lo = 0, hi = 1, engine: Engine = getEngine()): Tensor {
  const rng = new Rng(seed);
  const v = new Float32Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform(lo, hi);
  return tensor(v, shape, 'f32', engine);
}

export function randint(shape: readonly number[], seed: number, lo: number, hi: number, engine: Engine = getEngine()): Tensor {
  const rng = new Rng(seed);
  const v = new Int32Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = lo + rng.int(hi - lo);
  return tensor(v, shape, 'i32', engine);
}
