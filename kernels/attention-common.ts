// Pieces shared by the fused full attention (attention.ts) and the local-window attention
// (local-attention.ts): kernel variant choice, tile sizing, input checks and dropout options.
import type { AttentionVariant } from '../engine/kernel-options.ts';
import type { Engine } from '../engine/runtime.ts';
import { formatShape } from '../engine/shape.ts';
import type { Tensor } from '../engine/tensor.ts';
import { checkSeed, dropoutScale, dropThreshold, RNG_WGSL } from './rng.ts';
import { requireDType } from './util.ts';

// The variant names are a per-engine kernel option (engine/kernel-options.ts).
export { ATTENTION_VARIANTS, type AttentionVariant } from '../engine/kernel-options.ts';

/** `forced`, else the engine's kernel option `attention` (SPOOFSCAN_ATTENTION in Node), else by adapter. */
export function attentionVariant(engine: Engine, forced?: AttentionVariant): AttentionVariant {
  return forced ?? engine.kernelOptions.attention ?? (engine.adapter.isCpu ? 'direct' : 'shared');
}

/** Threads (query or key rows) per workgroup. */
export const ROWS_PER_GROUP = 64;
/** Head dims are baked into the shaders as private-array sizes; above this registers spill badly. */
export const MAX_HEAD_DIM = 512;
/** Workgroup-memory budget per tile: the WebGPU default limit, kept even where more is allowed (occupancy). */
const TILE_BUDGET = 16384;

/** Rows per staged tile so that rows × floatsPerRow × 4 B fits the budget (a power of two, 1..32). */
export function tileRows(engine: Engine, floatsPerRow: number): number {
  const budget = Math.min(TILE_BUDGET, engine.limits.maxComputeWorkgroupStorageSize);
  let t = 32;
  while (t > 1 && t * floatsPerRow * 4 > budget) t >>= 1;
  return t;
}

export function checkHeadDim(op: string, what: string, d: number): void {
  if (d < 1 || d > MAX_HEAD_DIM) throw new Error(`${op}: ${what} head dim ${d} is outside 1..${MAX_HEAD_DIM}`);
}

/** Checks a rank-4 f32 [B, H, rows, d] input. */
export function check4d(op: string, name: string, t: Tensor): void {
  requireDType(op, t, ['f32'], name);
  if (t.rank !== 4) throw new Error(`${op}: ${name} must be [B, H, N, d], got ${formatShape(t.shape)}`);
}

export interface DropoutOptions {
  /** Dropout probability on the attention weights (training); 0 = off. */
  dropout?: number;
  /** u32 seed of the counter-based mask (same seed → same mask in Node and in the browser). */
  seed?: number;
}

export interface DropoutPlan {
  on: boolean;
  threshold: number;
  scale: number;
  seed: number;
}

export function dropoutPlan(op: string, o: DropoutOptions): DropoutPlan {
  const p = o.dropout ?? 0;
  const scale = dropoutScale(op, p);
  const seed = checkSeed(op, o.seed ?? 0);
  if (p > 0 && o.seed === undefined) throw new Error(`${op}: dropout ${p} needs an explicit seed (the mask is regenerated from it in backward)`);
  return { on: p > 0, threshold: dropThreshold(p), scale, seed };
}

/** WGSL `fn dropf(a, b, c) -> f32`: 0 for a dropped weight, 1/(1−p) for a kept one (1 without dropout). */
export function dropoutWgsl(on: boolean): string {
  if (!on) return 'fn dropf(a: u32, b: u32, c: u32) -> f32 { return 1.0; }\n';
  return `${RNG_WGSL}
fn dropf(a: u32, b: u32, c: u32) -> f32 { return select(0.0, u.dscale, rng_keep(rng_hash(u.seed, a, b, c), u.thr)); }
`;
}

/** Scale default: 1/√d_k. */
export function defaultScale(dk: number, scale?: number): number {
  return scale ?? 1 / Math.sqrt(dk);
}
