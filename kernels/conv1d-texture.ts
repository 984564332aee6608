// conv1d forward through llvmpipe's texture matmul (issue 15) without the im2col matrix: the input columns
// go straight into the packed B texture (texel (k4, t) holds 4 consecutive (channel, tap) pairs of output
// frame t, zero outside the input), each group's weight [Coutg, Cing·K] is copied into the A texture, and
// the product writes that group's rows of y. That saves writing and re-reading Cing·K·Lout floats per
// (batch, group), which is what the im2col path spends most of its time on for the grouped positional conv.
import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import type { ConvGeometry } from './conv1d-kernels.ts';
import { defineKernel } from './define.ts';
import { padTo, packRows, textureProduct, textureSupports, textureTileFor, type TextureTile } from './matmul-texture.ts';
import { launch, uniformStruct, type UField } from './util.ts';

const FIELDS: UField[] = [
  ['zstride', 'u32'],
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
 * Texel (k4, z·hp + t) = x[z·zstride + c·L + t·stride + k·dil − pad] for the 4 pairs (c, k) = divmod(4·k4 + q, K),
 * z = b·groups + group over the batch and the groups (so z·Cing·L is where that group's input channels start).
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
  if (t < u.Lout) {
    for (var q = 0u; q < 4u; q = q + 1u) {
      let j = 4u * k4 + q;
      let pos = i32(t * u.stride + (j % u.K) * u.dil) - i32(u.pad);
      if (j < u.CK && pos >= 0 && pos < i32(u.L)) { v[q] = X[gid.z * u.zstride + (j / u.K) * u.L + u32(pos)]; }
    }
  }
  textureStore(dst, vec2<i32>(i32(k4), i32(gid.z * u.hp + t)), v);
}`,
);

/** The tile for one group's product, or null where the texture path does not apply (over the texture limit). */
export function convTextureTile(g: ConvGeometry, engine: Engine): TextureTile | null {
  const CK = g.Cing * g.K;
  const tile = textureTileFor(engine.adapter.backend, g.Coutg * g.Lout * CK, engine.kernelOptions.matmulLargeTileMacs);
  const z = g.B * g.groups;
  const geom = { M: g.Coutg, N: g.Lout, K: CK, batch: z, batchShape: [z], aBatchStrides: [0], bBatchStrides: [0], sam: CK, sak: 1, sbk: 1, sbn: CK };
  return textureSupports(geom, tile, engine.limits.maxTextureDimension2D) ? tile : null;
}

/** y [B, Cout, Lout] = conv1d(x, w) without bias: the products of every (batch, group) in one dispatch. */
export function conv1dTextureForward(engine: Engine, g: ConvGeometry, x: Tensor, w: Tensor, y: Tensor, tile: TextureTile): void {
  const CK = g.Cing * g.K;
  const k4 = Math.ceil(CK / 4);
  const z = g.B * g.groups;
  const hn = padTo(g.Lout, tile.tn);
  // Entry z = b·groups + group takes that group's weight rows [Coutg, Cing·K].
  const ta = packRows(engine, 'matmul:A', { x: w, off: 0, rows: g.Coutg, K: CK, srow: CK, sk: 1, batchShape: [g.B, g.groups], batchStrides: [0, g.Coutg * CK] }, padTo(g.Coutg, tile.tm));
  const tb = engine.scratchTexture('matmul:B', k4, z * hn);
  launch({
    op: 'conv1d',
    kernel: CONV_PACK(),
    inputs: [x],
    outputs: [tb],
    fields: FIELDS,
    values: { zstride: g.Cing * g.L, L: g.L, Lout: g.Lout, K: g.K, CK, stride: g.stride, dil: g.dilation, pad: g.padding, k4, hp: hn },
    workgroups: [Math.ceil(hn / WG), Math.ceil(k4 / WG), z],
  });
  // Entry z's rows of y start at z·Coutg·Lout = (b·Cout + group·Coutg)·Lout.
  textureProduct(ta, tb, y, 0, { M: g.Coutg, N: g.Lout, K: CK, batch: z }, tile);
}
