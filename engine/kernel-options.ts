// Per-engine kernel choices and tuning knobs. The engine only stores them (`Engine.kernelOptions`);
// kernels/ reads them when it picks a kernel, so two engines in one process can run different kernels
// and kernels/ never reads the environment. The vocabularies live here because the engine may not import
// kernels/; kernels/ re-exports them. Node engines take them from SPOOFSCAN_* variables when opened.

export type MatmulVariant = 'naive' | 'blocked' | 'tiled' | 'lanes' | 'texture';
export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['naive', 'blocked', 'tiled', 'lanes', 'texture'];

export type ConvImpl = 'implicit' | 'im2col';
export const CONV_IMPLS: readonly ConvImpl[] = ['implicit', 'im2col'];

/**
 * 'shared': K/V (or Q/dO) tiles staged in workgroup memory (real GPUs).
 * 'direct': every thread reads its rows from storage (CPU adapters, where barriers are costly
 * and workgroup memory is just more memory).
 */
export type AttentionVariant = 'shared' | 'direct';
export const ATTENTION_VARIANTS: readonly AttentionVariant[] = ['shared', 'direct'];

/** Register tile of the 'blocked' matmul. */
export interface BlockedTile {
  /** Rows of C per invocation (multiple of 4). */
  tm: number;
  /** Columns of C per invocation (multiple of 4). */
  tn: number;
  /** Workgroup size along n and m. */
  wx: number;
  wy: number;
}

/** Register tile of the 'lanes' matmul (kernels/matmul-lanes.ts). */
export interface LanesTile {
  /** Rows of C per workgroup (every lane computes all of them). */
  tm: number;
  /** vec4 columns of C per invocation (interleaved wx apart). */
  tnv: number;
  /** Invocations per workgroup (along n). */
  wx: number;
}

/** Tiling of the implicit-GEMM conv1d kernels (kernels/conv1d-kernels.ts). */
export interface ConvTile {
  tn: number;
  wx: number;
  wy: number;
  splitTarget: number;
}

/** Unset fields follow the adapter (see each kernel's default). */
export interface KernelOptions {
  matmul?: MatmulVariant;
  /** Register tile of the 'blocked' or 'lanes' matmul. */
  matmulTile?: BlockedTile | LanesTile;
  /** Products of at least this many multiply-adds take llvmpipe's large blocked tile (benchmarks move it). */
  matmulLargeTileMacs?: number;
  conv?: ConvImpl;
  /** Overrides parts of the per-adapter conv1d tiling (tests force split-K; benchmarks try tiles). */
  convTile?: Partial<ConvTile>;
  attention?: AttentionVariant;
}

function pick<T extends string>(env: Readonly<Record<string, string | undefined>>, name: string, allowed: readonly T[]): T | undefined {
  const v = env[name];
  if (!v) return undefined;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  // userFacing: a setting the user got wrong, printed by the CLI without a stack (common/errors.ts).
  throw Object.assign(new Error(`${name}='${v}' is not one of ${allowed.join(', ')}`), { userFacing: true, exitCode: 2 });
}

/** SPOOFSCAN_MATMUL, SPOOFSCAN_MATMUL_LARGE_TILE_MACS, SPOOFSCAN_CONV and SPOOFSCAN_ATTENTION as kernel options (throws on an unknown value). */
export function kernelOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): KernelOptions {
  const o: KernelOptions = {};
  const matmul = pick(env, 'SPOOFSCAN_MATMUL', MATMUL_VARIANTS);
  const conv = pick(env, 'SPOOFSCAN_CONV', CONV_IMPLS);
  const attention = pick(env, 'SPOOFSCAN_ATTENTION', ATTENTION_VARIANTS);
  if (matmul) o.matmul = matmul;
  if (conv) o.conv = conv;
  if (attention) o.attention = attention;
  const macs = env.SPOOFSCAN_MATMUL_LARGE_TILE_MACS;
  if (macs) {
    const n = Number(macs);
    if (Number.isNaN(n) || n < 0) throw Object.assign(new Error(`SPOOFSCAN_MATMUL_LARGE_TILE_MACS='${macs}' is not a non-negative number (or Infinity)`), { userFacing: true, exitCode: 2 });
    o.matmulLargeTileMacs = n;
  }
  return o;
}
