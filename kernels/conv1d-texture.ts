// conv1d forward through llvmpipe's texture matmul (issue 15) without the im2col matrix: the input columns
// go straight into the packed B texture (texel (k4, t) holds 4 consecutive (channel, tap) pairs of output
// frame t, zero outside the input), each group's weight [Coutg, Cing·K] is copied into the A texture, and
// the product writes that group's rows of y. That saves writing and re-reading Cing·K·Lout floats per
// (batch, group), which is what the im2col path spends most of its time on for the grouped positional conv.
import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import type { ConvGeometry } from './conv1d-kernels.ts';
import { defineKernel } from './define.ts';
import { defaultVariant } from './matmul.ts';
import { batchedGeometry, padTo, packRows, textureProduct, textureSupports, textureTileFor, vec4Stores, type ProductLayout, type TextureTile } from './matmul-texture.ts';
import { launch, uniformStruct, type UField } from './util.ts';

const FIELDS: UField[] = [
  ['zin', 'u32'],
  ['zso', 'u32'],
  ['zsi', 'u32'],
  ['cs', 'u32'],
  ['ts', 'u32'],
  ['L', 'u32'],
  ['Lout', 'u32'],
  ['K', 'u32'],
  ['CK', 'u32'],
  ['stride', 'u32'],
  ['dil', 'u32'],
  ['pad', 'u32'],
  ['k4', 'u32'],
  ['hp', 'u32'],
];
const WG = 8;

/**
 * Texel (k4, z·hp + t) = x at channel c, position t·stride + k·dil − pad of entry z, for the 4 pairs (c, k) =
 * divmod(4·k4 + q, K); z = b·groups + group, whose channels start at (z / zin)·zso + (z mod zin)·zsi, channel c
 * cs floats on and position p ts floats on ([B, C, L]: cs = L, ts = 1; channels-last [B, L, C]: cs = 1, ts = C).
 */
const CONV_PACK = defineKernel(
  'conv1d:texture-pack',
  () => `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var dst: texture_storage_2d<rgba32float, write>;
${uniformStruct(FIELDS).replace('BINDING', '2')}
@compute @workgroup_size(${WG}, ${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let k4 = gid.y;
  if (k4 >= u.k4 || t >= u.hp) { return; }
  var v = vec4<f32>(0.0);
  let base = (gid.z / u.zin) * u.zso + (gid.z % u.zin) * u.zsi;
  if (t < u.Lout) {
    for (var q = 0u; q < 4u; q = q + 1u) {
      let j = 4u * k4 + q;
      let pos = i32(t * u.stride + (j % u.K) * u.dil) - i32(u.pad);
      if (j < u.CK && pos >= 0 && pos < i32(u.L)) { v[q] = X[base + (j / u.K) * u.cs + u32(pos) * u.ts]; }
    }
  }
  textureStore(dst, vec2<i32>(i32(k4), i32(gid.z * u.hp + t)), v);
}`,
);

/** How one conv runs on the texture path: the product's orientation, its tile and where it stores. */
export interface ConvTexturePlan {
  /** The product's rows are frames (C[t, o]) rather than output channels (C[o, t]). */
  framesAsRows: boolean;
  tile: TextureTile;
  layout: ProductLayout;
}

/** The share of a product's invocation lanes that compute real outputs: rows in tm-tall tiles, columns in wx·tn-wide workgroups. */
const useful = (M: number, N: number, t: TextureTile): number => (M / padTo(M, t.tm)) * (N / padTo(N, t.tn * t.wx));

/**
 * The plan for y in [B, Cout, Lout] or, `channelsLast`, [B, Lout, Cout]; null where the texture path does not
 * apply (the engine's matmul is not the texture kernel for this product, or it is over the texture limit). Both orientations can write either layout (the store has row and column
 * strides); the one that keeps more lanes busy wins: the positional conv's 64 channels per group fill a quarter
 * of an 8 × 32-column workgroup, its 201 frames 78 %. Entry z = b·groups + group writes y channels
 * group·Coutg + o.
 */
export function convTexturePlan(g: ConvGeometry, engine: Engine, channelsLast: boolean): ConvTexturePlan | null {
  const CK = g.Cing * g.K;
  const z = g.B * g.groups;
  // Only where the engine's matmul would run im2col's product (Coutg × Lout × CK per entry) as a texture product.
  if (defaultVariant(engine, batchedGeometry(g.Coutg, g.Lout, CK, z)) !== 'texture') return null;
  const frame = channelsLast ? g.Cout : 1;
  const channel = channelsLast ? 1 : g.Lout;
  const entry = { coff: 0, zin: g.groups, czo: g.Cout * g.Lout, czi: g.Coutg * channel };
  const options = ([true, false] as const).map((framesAsRows) => {
    const [M, N] = framesAsRows ? [g.Lout, g.Coutg] : [g.Coutg, g.Lout];
    const layout = { ...entry, crow: framesAsRows ? frame : channel, ccol: framesAsRows ? channel : frame };
    const tile = textureTileFor(engine.adapter.backend, g.Coutg * g.Lout * CK, vec4Stores(N, layout), engine.kernelOptions.matmulLargeTileMacs);
    const fits = textureSupports(batchedGeometry(M, N, CK, z), tile, engine.limits.maxTextureDimension2D);
    return { framesAsRows, tile, layout, score: fits ? useful(M, N, tile) : -1 };
  });
  const best = options[0].score >= options[1].score ? options[0] : options[1];
  return best.score < 0 ? null : { framesAsRows: best.framesAsRows, tile: best.tile, layout: best.layout };
}

/**
 * y = conv1d(x, w) (+ bias) with the products of every (batch, group) in one dispatch, from and to [B, C, L] or
 * channels-last [B, L, C] (`channelsLast`, both, as planned). The bias is added as the product stores (frames as
 * rows and one group only); `fusedBias` says whether it was, else the caller adds it.
 */
export function conv1dTextureForward(
  engine: Engine,
  g: ConvGeometry,
  x: Tensor,
  w: Tensor,
  y: Tensor,
  plan: ConvTexturePlan,
  opts: { channelsLast?: boolean; bias?: Tensor | null } = {},
): { fusedBias: boolean } {
  const { tile, framesAsRows, layout } = plan;
  const bias = opts.bias && framesAsRows && g.groups === 1 ? opts.bias : null;
  const CK = g.Cing * g.K;
  const k4 = Math.ceil(CK / 4);
  const z = g.B * g.groups;
  const [wRows, xRows] = framesAsRows ? [padTo(g.Coutg, tile.tn), padTo(g.Lout, tile.tm)] : [padTo(g.Coutg, tile.tm), padTo(g.Lout, tile.tn)];
  const [wSlot, xSlot] = framesAsRows ? ['matmul:B', 'matmul:A'] : ['matmul:A', 'matmul:B'];
  // Entry z = b·groups + group takes that group's weight rows [Coutg, Cing·K].
  const tw = packRows(engine, wSlot, { x: w, off: 0, rows: g.Coutg, K: CK, srow: CK, sk: 1, batchShape: [g.B, g.groups], batchStrides: [0, g.Coutg * CK] }, wRows);
  const tx = engine.scratchTexture(xSlot, k4, z * xRows);
  const input = opts.channelsLast ? { zso: g.L * g.Cin, zsi: g.Cing, cs: 1, ts: g.Cin } : { zso: g.Cin * g.L, zsi: g.Cing * g.L, cs: g.L, ts: 1 };
  launch({
    op: 'conv1d',
    kernel: CONV_PACK(),
    inputs: [x],
    outputs: [tx],
    fields: FIELDS,
    values: { zin: g.groups, ...input, L: g.L, Lout: g.Lout, K: g.K, CK, stride: g.stride, dil: g.dilation, pad: g.padding, k4, hp: xRows },
    workgroups: [Math.ceil(xRows / WG), Math.ceil(k4 / WG), z],
  });
  if (framesAsRows) textureProduct(tx, tw, y, { M: g.Lout, N: g.Coutg, K: CK, batch: z }, tile, bias, { layout });
  else textureProduct(tw, tx, y, { M: g.Coutg, N: g.Lout, K: CK, batch: z }, tile, null, { layout });
  return { fusedBias: bias !== null };
}
