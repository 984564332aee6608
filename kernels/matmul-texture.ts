// Texture matmul for llvmpipe (issue 15). Mesa's llvmpipe turns every storage-buffer load into a loop
// over the SIMD lanes with a branch and a scalar load per lane and component, but a texel fetch goes
// through its sampler code, which gathers whole texels for all lanes at once. So both operands are
// first packed, k-major, into rgba32float scratch textures (texel (k/4, row) holds 4 consecutive k of
// one row of op(A) or one column of op(B), zero past K and past the padded row count), and the product
// reads only texels: each invocation keeps a tm × tn block of scalar accumulators and adds dot(a, b) of
// the 4-k texels. Measured at 1024³ on 2 cores: 46 GFLOP/s against 24 for the register-blocked storage
// kernel (scripts/experiments/llvmpipe-texture-matmul.ts). The packing pass is one read of each operand.
// Any operand layout packs the same way, so there is one product pipeline per tile and store mode.
// A batch packs its entries one above the other (entry z at rows z·hp…) in one dispatch per operand and
// multiplies them in one product dispatch (z over the batch): llvmpipe pays ~0.3 ms per dispatch.
import type { Engine, TextureBinding } from '../engine/runtime.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { range, type MatmulGeometry } from './matmul-common.ts';
import { launch, stridedOffsets, uniformStruct, type UField } from './util.ts';

export interface TextureTile {
  /** Rows and columns of C per invocation (tn a multiple of 4). */
  tm: number;
  tn: number;
  /** Invocations per workgroup (along n). */
  wx: number;
}

const packFields = (rb: number): UField[] => [
  ['off', 'u32'],
  ['rows', 'u32'],
  ['K', 'u32'],
  ['srow', 'u32'],
  ['sk', 'u32'],
  ['k4', 'u32'],
  ['hp', 'u32'],
  ['bshape', 'arr', rb],
  ['bs', 'arr', rb],
];
const PACK_WG = 8;

/**
 * Texel (k4, z·hp + r) = X[off + (batch offset of z) + r·srow + (4k4 + q)·sk] for q < 4, zero where
 * r ≥ rows or 4k4 + q ≥ K, for r < hp and z over the batch (rank rb, shape bshape, strides bs).
 * `rowsAcross`: neighbouring invocations take neighbouring rows rather than neighbouring k4, so that an
 * operand stored along its rows (a transposed read) is still read from consecutive addresses.
 */
function packSource(rowsAcross: boolean, rb: number): string {
  const loads = range(4).map((q) => `    let k${q} = 4u * k4 + ${q}u;\n    if (k${q} < u.K) { v[${q}] = X[base + k${q} * u.sk]; }`);
  return `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var dst: texture_storage_2d<rgba32float, write>;
${uniformStruct(packFields(rb)).replace('BINDING', '2')}@compute @workgroup_size(${PACK_WG}, ${PACK_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k4 = gid.${rowsAcross ? 'y' : 'x'};
  let r = gid.${rowsAcross ? 'x' : 'y'};
  if (k4 >= u.k4 || r >= u.hp) { return; }
${rb > 0 ? stridedOffsets(rb, 'bshape', ['bs'], 'gid.z') : '  let off_bs = 0u;'}
  var v = vec4<f32>(0.0);
  if (r < u.rows) {
    let base = u.off + off_bs + r * u.srow;
${loads.join('\n')}
  }
  textureStore(dst, vec2<i32>(i32(k4), i32(gid.z * u.hp + r)), v);
}`;
}

const PRODUCT_FIELDS: UField[] = [
  ['coff', 'u32'],
  ['M', 'u32'],
  ['N', 'u32'],
  ['k4', 'u32'],
  ['hm', 'u32'],
  ['hn', 'u32'],
  ['hasBias', 'u32'],
  ['alpha', 'f32'],
  ['crow', 'u32'],
  ['ccol', 'u32'],
  ['zin', 'u32'],
  ['czo', 'u32'],
  ['czi', 'u32'],
];

/**
 * Where a product writes entry z's C[m, n]: coff + (z / zin)·czo + (z mod zin)·czi + m·crow + n·ccol. The
 * default (zin 1, czo M·N, crow N, ccol 1) is a contiguous [batch, M, N]; attention writes [B, T, H, d] from
 * (b, h) entries, and a conv may write its [channel, frame] product into a channels-last [frame, channel] y.
 */
export interface ProductLayout {
  coff: number;
  crow: number;
  ccol: number;
  zin: number;
  czo: number;
  czi: number;
}

/**
 * C[z, m, n] = α·Σ_k4 dot(A texel (k4, z·hm + m), B texel (k4, z·hn + n)) (+ bias[n]), a tm × tn block per
 * invocation, stored where ProductLayout says. The bias is a uniform switch (a placeholder is bound without
 * one). `vec4Store` writes 4 columns at a time (ccol 1, N and the row and entry offsets multiples of 4): llvmpipe
 * expands every storage store into a loop over its SIMD lanes, so the compile time follows the number of store
 * instructions: 20 s for a 32 × 32 tile stored as scalars on a 2-core machine, 2–4 s as vec4s (and 1 s for
 * 16 × 16 scalars, the tile used where vec4 stores cannot be).
 */
function productSource(t: TextureTile, vec4Store: boolean): string {
  const rows = range(t.tm);
  const cols = range(t.tn);
  const init = rows.flatMap((i) => cols.map((j) => `  var c${i}_${j} = 0.0;`));
  const body = [
    ...rows.map((i) => `    let a${i} = textureLoad(tA, vec2<i32>(k, ta0 + ${i}), 0);`),
    ...cols.map((j) => `    let b${j} = textureLoad(tB, vec2<i32>(k, tb0 + ${j}), 0);`),
    ...rows.flatMap((i) => cols.map((j) => `    c${i}_${j} = c${i}_${j} + dot(a${i}, b${j});`)),
  ];
  // The bias is added as the block is stored: one load per column, instead of a broadcast add over C.
  const store = cols.map((j) => `  var bias${j} = 0.0;`);
  store.push('  if (u.hasBias != 0u) {');
  for (const j of cols) store.push(`    bias${j} = BIAS[min(u32(n0) + ${j}u, u.N - 1u)];`);
  store.push('  }');
  const value = (i: number, j: number): string => `u.alpha * c${i}_${j} + bias${j}`;
  for (const i of rows) {
    store.push(`  if (u32(m0) + ${i}u < u.M) {`);
    store.push(`    let row = cbase + (u32(m0) + ${i}u) * u.crow + u32(n0) * u.ccol;`);
    if (vec4Store) {
      for (const v of range(t.tn / 4)) {
        const parts = range(4).map((q) => value(i, 4 * v + q));
        store.push(`    if (u32(n0) + ${4 * v}u < u.N) { C[(row >> 2u) + ${v}u] = vec4<f32>(${parts.join(', ')}); }`);
      }
    } else {
      for (const j of cols) store.push(`    if (u32(n0) + ${j}u < u.N) { C[row + ${j}u * u.ccol] = ${value(i, j)}; }`);
    }
    store.push('  }');
  }
  return `@group(0) @binding(0) var tA: texture_2d<f32>;
@group(0) @binding(1) var tB: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> BIAS: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<${vec4Store ? 'vec4<f32>' : 'f32'}>;
${uniformStruct(PRODUCT_FIELDS).replace('BINDING', '4')}@compute @workgroup_size(${t.wx}, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = i32(gid.x * ${t.tn}u);
  let m0 = i32(gid.y * ${t.tm}u);
  if (u32(m0) >= u.M || u32(n0) >= u.N) { return; }
  let ta0 = i32(gid.z * u.hm) + m0;
  let tb0 = i32(gid.z * u.hn) + n0;
  let cbase = u.coff + (gid.z / u.zin) * u.czo + (gid.z % u.zin) * u.czi;
${init.join('\n')}
  for (var k = 0; k < i32(u.k4); k = k + 1) {
${body.join('\n')}
  }
${store.join('\n')}
}`;
}

/** Whether a product with this layout can store vec4s (see productSource). */
export function vec4Stores(N: number, layout: ProductLayout): boolean {
  return layout.ccol === 1 && [N, layout.crow, layout.coff, layout.czo, layout.czi].every((x) => x % 4 === 0);
}

/** The contiguous [batch, M, N] layout. */
export const denseLayout = (g: Pick<MatmulGeometry, 'M' | 'N'>, coff = 0): ProductLayout => ({ coff, crow: g.N, ccol: 1, zin: 1, czo: g.M * g.N, czi: 0 });

const PACK = defineKernel('matmul:texture-pack', ({ rowsAcross, rb }: { rowsAcross: boolean; rb: number }) => packSource(rowsAcross, rb));
const PRODUCT = defineKernel('matmul:texture', ({ tile, vec4Store }: { tile: TextureTile; vec4Store: boolean }) => productSource(tile, vec4Store));

/** Multiply-adds from which llvmpipe takes the large texture tile (its shader compiles several times slower). */
export const TEXTURE_LARGE_TILE_MACS = 2 ** 26;

/**
 * 32 × 32 per invocation for large products on llvmpipe that store vec4s (45 against 35 GFLOP/s for 16 × 16 at
 * 1024³), else 16 × 16 (a 32 × 32 tile stored as scalars compiles for 20 s); 8 × 8 elsewhere.
 */
export function textureTileFor(backend: string, macs: number, vec4Store: boolean, threshold = TEXTURE_LARGE_TILE_MACS): TextureTile {
  if (backend !== 'opengles') return { tm: 8, tn: 8, wx: 8 };
  return macs >= threshold && vec4Store ? { tm: 32, tn: 32, wx: 8 } : { tm: 16, tn: 16, wx: 8 };
}

export const padTo = (n: number, m: number): number => Math.ceil(n / m) * m;

/** A batch of `batch` M×N×K products as the texture helpers see it (they read only the sizes). */
export const batchedGeometry = (M: number, N: number, K: number, batch: number): MatmulGeometry => ({
  M,
  N,
  K,
  batch,
  batchShape: [batch],
  aBatchStrides: [0],
  bBatchStrides: [0],
  sam: K,
  sak: 1,
  sbk: 1,
  sbn: K,
});

/** Whether the texture path can run this call: its packed operands, the batch entries one above the other, fit the texture limit. */
export function textureSupports(g: MatmulGeometry, tile: TextureTile, maxTexture: number): boolean {
  return Math.ceil(g.K / 4) <= maxTexture && g.batch * padTo(g.M, tile.tm) <= maxTexture && g.batch * padTo(g.N, tile.tn) <= maxTexture;
}

/** The product kernel and its grid (the two packing dispatches come before it). */
export function textureKernel(tile: TextureTile, g: MatmulGeometry): { key: string; source: () => string; workgroups: [number, number, number] } {
  return { ...PRODUCT({ tile, vec4Store: vec4Stores(g.N, denseLayout(g)) }), workgroups: productGrid(tile, g) };
}

const productGrid = (tile: TextureTile, g: Pick<MatmulGeometry, 'M' | 'N' | 'batch'>): [number, number, number] => [
  Math.ceil(g.N / (tile.tn * tile.wx)),
  Math.ceil(g.M / tile.tm),
  g.batch,
];

/** Whether rows contiguous along k at this pitch and offset can be copied into a texture as they are (see pack). */
const copyable = (K: number, srow: number, sk: number, off: number): boolean => sk === 1 && K % 4 === 0 && K > 0 && srow % 64 === 0 && off % 4 === 0;

/** One operand as packRows reads it: rows × K at element strides srow, sk from `off`, batch entries at `batchStrides` over `batchShape`. */
export interface PackedOperand {
  x: Tensor;
  off: number;
  rows: number;
  K: number;
  srow: number;
  sk: number;
  batchShape: readonly number[];
  batchStrides: readonly number[];
}

/** Element offset of every batch entry, row-major over the batch shape. */
function batchOffsets(shape: readonly number[], strides: readonly number[]): number[] {
  let out = [0];
  shape.forEach((n, d) => (out = out.flatMap((o) => range(n).map((i) => o + i * strides[d]))));
  return out;
}

/**
 * Packs an operand into a k-major scratch texture, `hp` rows per batch entry. Entries whose rows are
 * contiguous along k at a pitch of a multiple of 64 floats (a 256-byte texture copy row) are copied as
 * they are, one copy each and no kernel (a Linear layer's input and weight, attention's Q and K): rows
 * between `rows` and `hp` then keep stale values, which only reach the padded outputs the product never
 * stores.
 */
export function packRows(engine: Engine, slot: string, o: PackedOperand, hp: number): TextureBinding {
  const batch = o.batchShape.reduce((p, n) => p * n, 1);
  const k4 = Math.max(1, Math.ceil(o.K / 4));
  const dst = engine.scratchTexture(slot, k4, batch * hp);
  const offsets = batchOffsets(o.batchShape, o.batchStrides).map((d) => o.off + d);
  if (offsets.every((off) => copyable(o.K, o.srow, o.sk, off))) {
    offsets.forEach((off, z) => engine.copyToTexture('matmul', o.x.bufferFor('matmul'), off * 4, o.srow * 4, dst, k4, o.rows, z * hp));
    return dst;
  }
  const rb = batch === 1 ? 0 : o.batchShape.length;
  const rowsAcross = o.sk !== 1 && o.srow === 1;
  const [gx, gy] = rowsAcross ? [hp, k4] : [k4, hp];
  launch({
    op: 'matmul',
    kernel: PACK({ rowsAcross, rb }),
    inputs: [o.x],
    outputs: [dst],
    fields: packFields(rb),
    values: { off: o.off, rows: o.rows, K: o.K, srow: o.srow, sk: o.sk, k4, hp, bshape: o.batchShape, bs: o.batchStrides },
    workgroups: [Math.ceil(gx / PACK_WG), Math.ceil(gy / PACK_WG), batch],
  });
  return dst;
}

/**
 * C[coff + z·M·N + m·N + n] = α·Σ_k4 dot(ta (k4, z·hm + m), tb (k4, z·hn + n)) (+ bias[n]) for m < M, n < N
 * and z < batch: the products of two packed textures (hm, hn: their rows per entry, padded to the tile),
 * stored contiguously unless `layout` places them.
 */
export function textureProduct(
  ta: TextureBinding,
  tb: TextureBinding,
  c: Tensor,
  g: Pick<MatmulGeometry, 'M' | 'N' | 'K' | 'batch'>,
  tile: TextureTile,
  bias: Tensor | null = null,
  opts: { alpha?: number; layout?: ProductLayout } = {},
): void {
  // Without a bias, C's own buffer cannot stand in (read and written in one dispatch): a 1-float placeholder.
  const placeholder = bias ? null : allocate([1], 'f32', 'matmul', engineOf('matmul', [c]));
  const layout = opts.layout ?? denseLayout(g);
  launch({
    op: 'matmul',
    kernel: PRODUCT({ tile, vec4Store: vec4Stores(g.N, layout) }),
    inputs: [ta, tb, bias ?? placeholder!],
    outputs: [c],
    fields: PRODUCT_FIELDS,
    values: {
      M: g.M,
      N: g.N,
      k4: Math.ceil(g.K / 4),
      hm: padTo(g.M, tile.tm),
      hn: padTo(g.N, tile.tn),
      hasBias: bias ? 1 : 0,
      alpha: opts.alpha ?? 1,
      ...layout,
    },
    workgroups: productGrid(tile, g),
  });
  placeholder?.dispose();
}

/** C = op(A)·op(B) (+ bias [N] on every row) through packed textures (the caller checked textureSupports). */
export function dispatchTextureMatmul(engine: Engine, a: Tensor, b: Tensor, c: Tensor, g: MatmulGeometry, tile: TextureTile, bias: Tensor | null = null): void {
  const common = { K: g.K, batchShape: g.batchShape };
  const ta = packRows(engine, 'matmul:A', { ...common, x: a, off: 0, rows: g.M, srow: g.sam, sk: g.sak, batchStrides: g.aBatchStrides }, padTo(g.M, tile.tm));
  // op(B) column n is the packed row n: its k stride is sbk and its row stride sbn.
  const tb = packRows(engine, 'matmul:B', { ...common, x: b, off: 0, rows: g.N, srow: g.sbn, sk: g.sbk, batchStrides: g.bBatchStrides }, padTo(g.N, tile.tn));
  textureProduct(ta, tb, c, g, tile, bias);
}
