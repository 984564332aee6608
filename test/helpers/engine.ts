// One engine per test file (vitest runs each file in its own process), plus Nd ↔ Tensor transfer.
import { beforeAll } from 'vitest';
import { initEngine, tensor, type DType, type Engine, type Tensor } from '../../engine/node.ts';
// The engine does not import kernels: loading them registers the self-check initEngine runs and gradient accumulation.
import '../../kernels/index.ts';
import type { Nd } from '../reference/nd.ts';

let opening: Promise<Engine> | null = null;

/** Opens the engine once (quietly) and returns it on every later call. */
export function engineReady(): Promise<Engine> {
  opening ??= initEngine(undefined, { quiet: true });
  return opening;
}

/** Registers a beforeAll that opens the engine for the calling test file. */
export function useEngine(): void {
  beforeAll(async () => {
    await engineReady();
  });
}

/** Uploads a reference array (its values must be representable in `dtype`). */
export function fromNd(a: Nd, dtype: DType = 'f32'): Tensor {
  const data = dtype === 'i32' ? Int32Array.from(a.data) : dtype === 'u32' ? Uint32Array.from(a.data) : Float32Array.from(a.data);
  return tensor(data, a.shape, dtype);
}

/** Reads a tensor back as a reference array (shape and values). */
export async function toNd(t: Tensor): Promise<Nd> {
  return { shape: [...t.shape], data: Float64Array.from(await t.data()) };
}
