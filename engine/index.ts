// Public engine API shared by Node and browsers. Node code opens the device through
// engine/device.node.ts (`initEngine` in engine/node.ts re-exports it). The ops are in kernels/index.ts
// (the engine imports nothing above it); a program imports both.
import { openBrowserDevice, type OpenedDevice } from './device.ts';
import { Engine, getEngine, hasEngine, setEngine, type EngineOptions } from './runtime.ts';
import { tidy as tidyRaw, keep } from './scope.ts';
import { isTensor } from './tensor.ts';

export { Engine, GpuError, getEngine, hasEngine, setEngine, type EngineOptions } from './runtime.ts';
export { Tensor, tensor, scalar, full, zeros, ones, isTensor, engineOf, type DType, type TypedData } from './tensor.ts';
export * from './kernel-options.ts';
export { backward, noGrad, requiresGrad, releaseGraph, isGradEnabled } from './autograd.ts';
export { Rng } from './random.ts';
export { describeAdapter, type AdapterSummary } from './device.ts';
export { keep };
export * from './creation.ts';

/** Runs fn and disposes every tensor it created except those it returns. */
export function tidy<T>(fn: () => T): T {
  return tidyRaw(fn, isTensor);
}

/** Makes `opened` the current engine (replacing and destroying any previous one). */
export function useDevice(opened: OpenedDevice, opts: EngineOptions = {}): Engine {
  if (hasEngine()) getEngine().destroy();
  const e = new Engine(opened, opts);
  setEngine(e);
  return e;
}

export async function initBrowserEngine(): Promise<Engine> {
  return useDevice(await openBrowserDevice());
}
