// Dropout with a counter-based GPU RNG: the mask is a pure function of (seed, element index), so the
// same seed gives the same mask in Node and in browsers, and backward regenerates it instead of storing it.
import { record } from '../engine/autograd.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { bindings, grid1d, launch, main1d, requireDType, type UField } from './util.ts';
import { RNG_WGSL, dropThreshold, rngHash } from './rng.ts';

const FIELDS: UField[] = [['n', 'u32'], ['seed', 'u32'], ['threshold', 'u32'], ['scale', 'f32']];

const DROPOUT = defineKernel(
  'dropout',
  () => `${bindings(['x'], ['y'], 'f32', true, FIELDS)}${RNG_WGSL}
${main1d(`  if (idx >= u.n) { return; }
  let keep = rng_keep(rng_hash(u.seed, idx, 0u, 0u), u.threshold);
  y[idx] = select(0.0, x[idx] * u.scale, keep);`)}`,
);

function masked(op: string, x: Tensor, seed: number, p: number): Tensor {
  const y = allocate(x.shape, 'f32', op, engineOf(op, [x]));
  if (x.size === 0) return y;
  launch({
    op,
    kernel: DROPOUT(),
    inputs: [x],
    outputs: [y],
    fields: FIELDS,
    values: { n: x.size, seed: seed >>> 0, threshold: dropThreshold(p), scale: 1 / (1 - p) },
    workgroups: grid1d(x.size),
  });
  return y;
}

/**
 * Inverted dropout: in training each element is zeroed with probability p and the rest scaled by
 * 1/(1 − p); in eval (or p = 0) the input passes through. `seed` must differ per layer and step
 * (see dropoutSeed).
 */
export function dropout(x: Tensor, p: number, seed: number, training = true): Tensor {
  requireDType('dropout', x, ['f32']);
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: probability ${p} is not in [0, 1)`);
  if (!training || p === 0) return record('dropout', [x], x.view(x.shape), (g) => [g.view(g.shape)]);
  return record('dropout', [x], masked('dropout', x, seed, p), (g) => [masked('dropout.backward', g, seed, p)]);
}

/** A distinct dropout seed for (base seed, training step, layer id), identical on every platform. */
export function dropoutSeed(base: number, step: number, layer: number): number {
  return rngHash(base >>> 0, step >>> 0, layer >>> 0, 0x64726f70);
}

/** Host mirror of the keep-mask (for tests and for checking cross-platform determinism). */
export function dropoutMaskHost(n: number, seed: number, p: number): Uint8Array {
  const t = dropThreshold(p);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rngHash(seed >>> 0, i, 0, 0) >>> 8 >= t ? 1 : 0;
  return out;
}
