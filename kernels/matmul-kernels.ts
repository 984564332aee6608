// Matmul kernel selection and dispatch. All variants read A and B through element strides (so
// transposes are free) and batch strides (so broadcast batches are free); sizes travel in
// uniforms, and the pipeline key holds only the variant, its tile, the operand access modes
// (vec4 or scalar, see matmul-common.ts) and the batch rank.
import type { AdapterSummary } from '../engine/device.ts';
import { engineOf, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { launch } from './util.ts';
import {
  batchOffsets,
  matmulFields,
  matmulHeader,
  matmulValues,
  operandModes,
  type MatmulGeometry,
  type MatmulVariant,
  type OperandModes,
} from './matmul-common.ts';
import { blockedSource, blockedWorkgroups, type BlockedTile } from './matmul-blocked.ts';
import { tiledSource, tiledWorkgroups } from './matmul-tiled.ts';
import { lanesSource, lanesSupports, lanesTileFor, lanesWorkgroups, type LanesTile } from './matmul-lanes.ts';
import { denseLayout, dispatchTextureMatmul, textureKernel, textureSupports, textureTileFor, vec4Stores, type TextureTile } from './matmul-texture.ts';

export { type BlockedTile } from './matmul-blocked.ts';
export { type LanesTile } from './matmul-lanes.ts';
/** A register tile override: 'blocked' (tm, tn, wx, wy) or 'lanes' (tm, tnv, wx). */
export type MatmulTile = BlockedTile | LanesTile;
export { MATMUL_VARIANTS, type MatmulGeometry, type MatmulVariant } from './matmul-common.ts';

const SCALAR: OperandModes = { a: 's', b: 's', c: 's' };

/** One output per invocation, scalar loads: the reference the others are measured against. */
function naiveSource(rb: number): string {
  return `${matmulHeader(rb, SCALAR)}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let m = gid.y;
  let bz = gid.z + u.bz0;
  if (m >= u.M || n >= u.N) { return; }
${batchOffsets(rb)}
  var acc = 0.0;
  for (var k = 0u; k < u.K; k = k + 1u) {
    acc = acc + A[off_abs + m * u.sam + k * u.sak] * B[off_bbs + k * u.sbk + n * u.sbn];
  }
  C[cbase + m * u.N + n] = acc;
}`;
}

/** Multiply-adds from which llvmpipe gets the large register tile (below it, compile time outweighs the gain). */
export const LLVMPIPE_LARGE_TILE_MACS = 2 ** 26;

/**
 * Register tiles per CPU adapter, measured side by side with `spoofscan bench matmul --tiles …`
 * on 1024³ and the XLS-R fc1 shapes (docs/bench.md): SwiftShader (4-wide lanes, weak register
 * allocation) is fastest with 8×8 per invocation; llvmpipe (8-wide AVX2 lanes, LLVM) with 32×32 in
 * 8×1 workgroups (issue 15: 1.3–2.3× the speed of 16×16, since every storage load there is a per-lane
 * loop, loads per multiply-add matter more than the spills of the large tile). The 32×32 shader takes
 * 4–5× longer to compile, though (about 9–15 s against 2–4 s per access mode on a loaded 2-core
 * machine), so llvmpipe keeps 16×16 for products under LLVMPIPE_LARGE_TILE_MACS multiply-adds.
 */
export function blockedTileFor(adapter: Pick<AdapterSummary, 'backend'>, macs = Infinity, threshold = LLVMPIPE_LARGE_TILE_MACS): BlockedTile {
  if (adapter.backend !== 'opengles') return { tm: 8, tn: 8, wx: 8, wy: 4 };
  // The engine's kernel option matmulLargeTileMacs (SPOOFSCAN_MATMUL_LARGE_TILE_MACS) moves the threshold;
  // benchmarks pass Infinity for the 16×16 tile everywhere.
  return macs >= threshold ? { tm: 32, tn: 32, wx: 8, wy: 1 } : { tm: 16, tn: 16, wx: 8, wy: 4 };
}

// rb: the batch rank; modes: how each operand is read (vec4 or scalar).
const NAIVE = defineKernel('matmul:naive', ({ rb }: { rb: number }) => naiveSource(rb));
const BLOCKED = defineKernel('matmul:blocked', (p: { rb: number; modes: OperandModes; tile: BlockedTile }) => blockedSource(p.rb, p.modes, p.tile));
const LANES = defineKernel('matmul:lanes', (p: { rb: number; modes: OperandModes; tile: LanesTile }) => lanesSource(p.rb, p.modes, p.tile));
const TILED = defineKernel('matmul:tiled', (p: { rb: number; modes: OperandModes }) => tiledSource(p.rb, p.modes));

export interface MatmulPlan {
  variant: MatmulVariant;
  modes: OperandModes;
  /** Pipeline cache key. */
  key: string;
  workgroups: [number, number, number];
  source: () => string;
}

/** The texture variant's tile: a blocked tile override's tm × tn in wx-wide workgroups, else per adapter and size. */
function textureTile(g: MatmulGeometry, adapter: Pick<AdapterSummary, 'backend'>, tileOverride: MatmulTile | undefined, largeTileMacs: number): TextureTile {
  if (tileOverride && !('tnv' in tileOverride)) return { tm: tileOverride.tm, tn: tileOverride.tn, wx: tileOverride.wx };
  // Per product: a batch runs its products one after another.
  return textureTileFor(adapter.backend, g.M * g.N * g.K, vec4Stores(g.N, denseLayout(g)), largeTileMacs);
}

/**
 * The kernel, access modes and grid one call will use (exported so tests and benchmarks can report it).
 * 'texture' reports its product kernel (packing dispatches or copies run before it, per batch entry);
 * where it cannot run (its batch entries, stacked, past `maxTexture`) it falls back to 'blocked'.
 */
export function planMatmul(
  variant: MatmulVariant,
  g: MatmulGeometry,
  adapter: Pick<AdapterSummary, 'backend'>,
  tileOverride?: MatmulTile,
  largeTileMacs = LLVMPIPE_LARGE_TILE_MACS,
  maxTexture = 8192,
): MatmulPlan & { textureTile?: TextureTile } {
  const rb = g.batchShape.length;
  if (variant === 'texture') {
    const tile = textureTile(g, adapter, tileOverride, largeTileMacs);
    if (textureSupports(g, tile, maxTexture)) return { variant, modes: operandModes(g), ...textureKernel(tile, g), textureTile: tile };
    return planMatmul('blocked', g, adapter, tileOverride, largeTileMacs);
  }
  if (variant === 'naive') {
    return { variant, modes: SCALAR, ...NAIVE({ rb }), workgroups: [Math.ceil(g.N / 8), Math.ceil(g.M / 8), g.batch] };
  }
  const modes = operandModes(g);
  if (variant === 'lanes' && lanesSupports(modes)) {
    const tile = tileOverride && 'tnv' in tileOverride ? tileOverride : lanesTileFor(adapter);
    return { variant, modes, ...LANES({ rb, modes, tile }), workgroups: lanesWorkgroups(tile, g.M, g.N, g.batch) };
  }
  if (variant === 'blocked' || variant === 'lanes') {
    const tile = tileOverride && !('tnv' in tileOverride) ? tileOverride : blockedTileFor(adapter, g.M * g.N * g.K * g.batch, largeTileMacs);
    return { variant, modes, ...BLOCKED({ rb, modes, tile }), workgroups: blockedWorkgroups(tile, g.M, g.N, g.batch) };
  }
  return { variant, modes, ...TILED({ rb, modes }), workgroups: tiledWorkgroups(g.M, g.N, g.batch) };
}

/**
 * Runs the variant on the engine of a, b and c (its kernel options may fix the tile and the large-tile
 * threshold). Returns whether it also added `bias` ([N], to every row): only the texture kernel does.
 */
export function dispatchMatmul(variant: MatmulVariant, a: Tensor, b: Tensor, c: Tensor, g: MatmulGeometry, tile?: MatmulTile, bias: Tensor | null = null): boolean {
  const engine = engineOf('matmul', bias ? [a, b, c, bias] : [a, b, c]);
  const o = engine.kernelOptions;
  const plan = planMatmul(variant, g, engine.adapter, tile ?? o.matmulTile, o.matmulLargeTileMacs, engine.limits.maxTextureDimension2D);
  if (plan.textureTile) {
    dispatchTextureMatmul(engine, a, b, c, g, plan.textureTile, bias);
    return true;
  }
  const [x, y, batch] = plan.workgroups;
  launch({
    op: 'matmul',
    kernel: plan,
    inputs: [a, b],
    outputs: [c],
    fields: matmulFields(g.batchShape.length),
    values: matmulValues(g),
    // Batches past maxComputeWorkgroupsPerDimension go in chunks, the first index of each in u.bz0.
    workgroups: { xy: [x, y], batch, batchField: 'bz0' },
  });
  return false;
}
