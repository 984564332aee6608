// Source-level workarounds applied to every WGSL kernel before it is compiled, per backend.
import type { AdapterSummary } from './device.ts';

/**
 * Dawn's OpenGL ES backend (Tint's GLSL writer) turns `workgroupBarrier()` into a bare GLSL
 * `barrier()`. Mesa (llvmpipe, at least 22.3) compiles that as an execution barrier without
 * memory semantics, so its compiler may move a workgroup-memory load across it: in the usual
 * "read the reduced value, barrier, reuse the array" pattern, invocations of a later SIMD batch
 * then read the array after an earlier batch has overwritten it (layerNorm was off by 2–4 % rms).
 * `storageBarrier()` is emitted as `memoryBarrierBuffer(); barrier();`, and that memory barrier
 * keeps the loads in place: same execution barrier, one extra fence. Other backends are left as is.
 */
export function glesBarrierFix(code: string): string {
  return code.replace(/\bworkgroupBarrier\s*\(\s*\)/g, 'storageBarrier()');
}

/** The WGSL that is actually compiled for `code` on this adapter. */
export function adaptWgsl(code: string, adapter: Pick<AdapterSummary, 'backend'>): string {
  return adapter.backend === 'opengles' ? glesBarrierFix(code) : code;
}
