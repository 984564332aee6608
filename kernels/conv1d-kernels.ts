// WGSL for conv1d as implicit GEMMs, one per (batch, group), with no im2col buffer:
//   forward  Y[o, t]  = Σ_(k,i) Wp[k,i,o] · Xp[i, t·s + k·d]          (Xp: input padded by p)
//   weight   dW[o, r] = Σ_(b,t) DYt[b,t,o] · Xp[b, i(r), t·s + k(r)·d]
//   input    dX[i, u] = Σ_(k,o) Wt[k,o,i] · DYp[o, (u + p − k·d)/s]   (only k with s | u + p − k·d)
// Every kernel keeps a tile of `tm` channels × `tn` positions in registers: the channel axis is
// read as vec4 from an operand packed channel-last (zero-padded to the tile), the other axis is
// gathered as scalars. No workgroup memory and no barriers: CPU emulators (SwiftShader, llvmpipe)
// pay a coroutine switch per barrier, and register blocking is what the matmul measurements favour
// there (spec webgpu-notes.md §9.4). The dX kernel handles stride by output phase u mod s, so no
// multiply-by-zero work is done for the holes of a strided transposed conv.
import type { AdapterSummary } from '../engine/device.ts';
import type { ConvTile } from '../engine/kernel-options.ts';
import type { Engine } from '../engine/runtime.ts';
import { allocate, engineOf, type Tensor } from '../engine/tensor.ts';
import { defineKernel } from './define.ts';
import { sum } from './reduce.ts';
import { range } from './matmul-common.ts';
import { bindings, grid1d, launch, main1d, uAt, type UField } from './util.ts';

export interface ConvGeometry {
  B: number;
  Cin: number;
  L: number;
  Cout: number;
  K: number;
  stride: number;
  padding: number;
  dilation: number;
  groups: number;
  /** Input and output channels per group. */
  Cing: number;
  Coutg: number;
  /** Output frames computed (after trimEnd). */
  Lout: number;
  /** Padded input length L + 2p. */
  Lp: number;
}

/**
 * Per-adapter tiling: `tn` positions per invocation, workgroup wx × wy (the channel tile tm
 * depends on the channel count), and split-K: when a call has fewer than `splitTarget`
 * invocations, its reduction (kernel taps, or time for dW) is cut into chunks that write partial
 * results, summed by a second pass (deterministic; no float atomics in WGSL).
 */
// The tile type is a per-engine kernel option (engine/kernel-options.ts).
export type { ConvTile } from '../engine/kernel-options.ts';

/**
 * CPU adapters: 16 channels × 8 positions per invocation, like the blocked matmul (32 vec4
 * accumulators), and no split (a few thousand invocations already fill the cores). GPUs: 16 × 4
 * per invocation in 64-wide workgroups, split-K up to ≈32k invocations (the positional conv has
 * only 64 workgroups otherwise). The GPU tile was chosen before GPU numbers existed and has not been tuned
 * since; H100/H200 timings are in bench/results/conv-nvidia-*.json and docs/bench.md ("conv1d on the XLS-R
 * shapes"), where the implicit kernels win on the first block and the positional conv.
 */
export function convTileFor(adapter: Pick<AdapterSummary, 'isCpu'>): ConvTile {
  return adapter.isCpu ? { tn: 8, wx: 8, wy: 4, splitTarget: 0 } : { tn: 4, wx: 16, wy: 4, splitTarget: 32768 };
}

/** How many chunks to cut a reduction of `len` steps into, for a grid of `invocations`. */
export function splitCount(tile: ConvTile, invocations: number, len: number, maxZ: number, zPerChunk: number): number {
  if (tile.splitTarget <= invocations) return 1;
  const want = Math.min(Math.ceil(tile.splitTarget / invocations), len, 64, Math.floor(maxZ / zPerChunk));
  if (want <= 1) return 1;
  return Math.ceil(len / Math.ceil(len / want)); // no empty chunk
}

/** Channel tile: 4, 8 or 16 (padding a small group to 16 would waste most of the work). */
export function channelTile(channels: number): number {
  return channels <= 4 ? 4 : channels <= 8 ? 8 : 16;
}

export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

// ---------------------------------------------------------------- packing

const PACK_FIELDS: UField[] = [
  ['n', 'u32'],
  ['lo', 'u32'],
  ['hi', 'u32'],
  ['d', 'arr', 4],
  ['s', 'arr', 4],
];

const PACK = defineKernel(
  'conv1d:pack',
  () => `${bindings(['S'], ['D'], 'f32', true, PACK_FIELDS)}
${main1d(`  if (idx >= u.n) { return; }
  let c3 = idx % ${uAt('d', 3)};
  let r2 = idx / ${uAt('d', 3)};
  let c2 = r2 % ${uAt('d', 2)};
  let r1 = r2 / ${uAt('d', 2)};
  let c1 = r1 % ${uAt('d', 1)};
  let c0 = r1 / ${uAt('d', 1)};
  var v = 0.0;
  if (c3 >= u.lo && c3 < u.hi) {
    v = S[c0 * ${uAt('s', 0)} + c1 * ${uAt('s', 1)} + c2 * ${uAt('s', 2)} + (c3 - u.lo) * ${uAt('s', 3)}];
  }
  D[idx] = v;`)}`,
);

/**
 * dst[c0,c1,c2,c3] = src[c0·s0 + c1·s1 + c2·s2 + (c3 − lo)·s3] for lo ≤ c3 < hi, else 0.
 * One strided gather serves every re-layout conv needs: time padding, channel-last weights
 * zero-padded to the channel tile, and the transposed output gradient.
 */
export function pack(op: string, src: Tensor, dst: Tensor, dstShape: readonly number[], srcStrides: readonly number[], lo: number, hi: number): void {
  const n = dst.size;
  launch({
    op,
    kernel: PACK(),
    inputs: [src],
    outputs: [dst],
    fields: PACK_FIELDS,
    values: { n, lo, hi, d: dstShape, s: srcStrides },
    workgroups: grid1d(n),
  });
}

// ---------------------------------------------------------------- shared code generation

/** Accumulator declarations: c{q}_{v} is a vec4 over channels 4v..4v+3 at position q. */
function accumulators(tm: number, tn: number): string {
  return range(tn)
    .flatMap((q) => range(tm / 4).map((v) => `  var c${q}_${v} = vec4<f32>(0.0);`))
    .join('\n');
}

/**
 * One reduction step: `tm/4` vec4 loads from `A` at `aIdx + v`, `tn` scalar loads from `G` at
 * `gIdx(q)`, then tm·tn FMAs. `advance` moves the pointers to the next step.
 */
function step(tm: number, tn: number, aIdx: string, gIdx: (q: number) => string, advance: string): string {
  const out: string[] = ['    {'];
  for (const v of range(tm / 4)) out.push(`      let a${v} = A[${aIdx} + ${v}u];`);
  for (const q of range(tn)) out.push(`      let g${q} = vec4<f32>(G[${gIdx(q)}]);`);
  for (const q of range(tn)) for (const v of range(tm / 4)) out.push(`      c${q}_${v} = fma(g${q}, a${v}, c${q}_${v});`);
  out.push(`      ${advance}`, '    }');
  return out.join('\n');
}

/** A loop of `count` steps, unrolled by 4 with a scalar tail. */
function unrolled(counter: string, count: string, body: string): string {
  return `    var ${counter} = 0u;
    for (; ${counter} + 4u <= ${count}; ${counter} = ${counter} + 4u) {
${body}
${body}
${body}
${body}
    }
    for (; ${counter} < ${count}; ${counter} = ${counter} + 1u) {
${body}
    }`;
}

/** Stores the tile: channel 4v+c at position q goes to `dst(ch, q)` when both are in range. */
function storeTile(tm: number, tn: number, chName: string, ch0: string, chLimit: string, posOk: (q: number) => string, dst: (q: number) => string, value: (q: number, v: number, c: number) => string): string {
  const out: string[] = [];
  for (const q of range(tn)) {
    out.push(`  if (${posOk(q)}) {`);
    for (const v of range(tm / 4)) {
      for (const c of range(4)) {
        out.push(`    { let ${chName} = ${ch0} + ${4 * v + c}u; if (${chName} < ${chLimit}) { ${dst(q)} = ${value(q, v, c)}; } }`);
      }
    }
    out.push('  }');
  }
  return out.join('\n');
}

function header(inputs: [string, string][], output: string, fields: UField[]): string {
  const decl = inputs.map(([n, t], i) => `@group(0) @binding(${i}) var<storage, read> ${n}: array<${t}>;`);
  decl.push(`@group(0) @binding(${inputs.length}) var<storage, read_write> ${output}: array<f32>;`);
  const struct = fields.map((f) => (f[1] === 'arr' ? `  ${f[0]}: array<vec4<u32>, ${Math.ceil(f[2] / 4)}>,` : `  ${f[0]}: ${f[1]},`));
  return `${decl.join('\n')}
struct U {
${struct.join('\n')}
}
@group(0) @binding(${inputs.length + 1}) var<uniform> u: U;
`;
}

const GEOM_FIELDS: UField[] = [
  ['B', 'u32'],
  ['Cin', 'u32'],
  ['L', 'u32'],
  ['Lp', 'u32'],
  ['Cout', 'u32'],
  ['Lout', 'u32'],
  ['K', 'u32'],
  ['Cing', 'u32'],
  ['Coutg', 'u32'],
  ['G', 'u32'],
  ['stride', 'u32'],
  ['dil', 'u32'],
  ['pad', 'u32'],
  /** Channel-padded length of the packed operand (multiple of tm). */
  ['CP', 'u32'],
  /** dX only: left padding and padded length of the output gradient. */
  ['PL', 'u32'],
  ['Ltp', 'u32'],
  /** Split-K: reduction steps per chunk, and the size of one chunk's partial output. */
  ['chunk', 'u32'],
  ['outSize', 'u32'],
];

function geomValues(g: ConvGeometry, CP: number, chunk: number, outSize: number, PL = 0, Ltp = 0): Record<string, number> {
  return {
    chunk,
    outSize,
    B: g.B,
    Cin: g.Cin,
    L: g.L,
    Lp: g.Lp,
    Cout: g.Cout,
    Lout: g.Lout,
    K: g.K,
    Cing: g.Cing,
    Coutg: g.Coutg,
    G: g.groups,
    stride: g.stride,
    dil: g.dilation,
    pad: g.padding,
    CP,
    PL,
    Ltp,
  };
}

/** What the conv sources depend on: the channel tile and the invocation tile (not the split target). */
type TileShape = Pick<ConvTile, 'tn' | 'wx' | 'wy'> & { tm: number };
const tileShape = (tm: number, t: ConvTile): TileShape => ({ tm, tn: t.tn, wx: t.wx, wy: t.wy });

/** Invocations of a 2-D tile grid (for the split decision). */
const invocationsOf = (wg: [number, number, number], t: ConvTile): number => wg[0] * wg[1] * wg[2] * t.wx * t.wy;

// ---------------------------------------------------------------- forward

function forwardSource(t: TileShape, bias: boolean): string {
  const { tm, tn } = t;
  const inputs: [string, string][] = [
    ['G', 'f32'],
    ['A', 'vec4<f32>'],
  ];
  if (bias) inputs.push(['Bi', 'f32']);
  const setup = range(tn).map((q) => `  let x${q} = xb + min(t0 + ${q}u, u.Lout - 1u) * u.stride;`);
  const body = step(tm, tn, 'pw', (q) => `x${q} + xo`, 'pw = pw + cp4; xo = xo + u.Lp;');
  return `${header(inputs, 'Y', GEOM_FIELDS)}
@compute @workgroup_size(${t.wx}, ${t.wy})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t0 = gid.x * ${tn}u;
  let o0 = gid.y * ${tm}u;
  if (t0 >= u.Lout || o0 >= u.Coutg) { return; }
  let part = gid.z / (u.B * u.G);
  let b = (gid.z / u.G) % u.B;
  let g = gid.z % u.G;
  let kb = part * u.chunk;
  let ke = min(u.K, kb + u.chunk);
  let xb = (b * u.Cin + g * u.Cing) * u.Lp;
${setup.join('\n')}
${accumulators(tm, tn)}
  let cp4 = u.CP / 4u;
  var pw = (g * u.K + kb) * u.Cing * cp4 + o0 / 4u;
  for (var k = kb; k < ke; k = k + 1u) {
    var xo = k * u.dil;
${unrolled('i', 'u.Cing', body)}
  }
  let ob = b * u.Cout + g * u.Coutg;
  let yb = part * u.outSize;
${storeTile(
  tm,
  tn,
  'o',
  'o0',
  'u.Coutg',
  (q) => `t0 + ${q}u < u.Lout`,
  (q) => `Y[yb + (ob + o) * u.Lout + t0 + ${q}u]`,
  (q, v, c) => (bias ? `c${q}_${v}[${c}] + select(0.0, Bi[g * u.Coutg + o], part == 0u)` : `c${q}_${v}[${c}]`),
)}
}`;
}

const FORWARD = defineKernel('conv1d:fwd', (p: TileShape & { bias: boolean }) => forwardSource(p, p.bias));
const WEIGHT_GRAD = defineKernel('conv1d:dw', (p: TileShape) => weightGradSource(p));
const INPUT_GRAD = defineKernel('conv1d:dx', (p: TileShape) => inputGradSource(p));

/** y[B, Cout, Lout] from the padded input xp[B, Cin, Lp] and the packed weight wp[G, K, Cing, CP]. */
export function convForward(g: ConvGeometry, xp: Tensor, wp: Tensor, bias: Tensor | null, tile: ConvTile, tm: number): Tensor {
  const grid: [number, number, number] = [Math.ceil(g.Lout / (tile.tn * tile.wx)), Math.ceil(g.Coutg / (tm * tile.wy)), g.B * g.groups];
  const inputs = bias ? [xp, wp, bias] : [xp, wp];
  return splitLaunch('conv1d', engineOf('conv1d', inputs), [g.B, g.Cout, g.Lout], grid, g.K, tile, (parts, chunk, out) =>
    launch({
      op: 'conv1d',
      kernel: FORWARD({ ...tileShape(tm, tile), bias: Boolean(bias) }),
      inputs,
      outputs: [out],
      fields: GEOM_FIELDS,
      values: geomValues(g, roundUp(g.Coutg, tm), chunk, g.B * g.Cout * g.Lout),
      workgroups: [grid[0], grid[1], grid[2] * parts],
    }),
  );
}

/**
 * Runs `go(parts, chunk, out)` once, with the reduction of length `len` cut into `parts` chunks
 * when the grid is too small for the adapter (ConvTile.splitTarget); partial outputs are stacked
 * on a leading axis and summed.
 */
function splitLaunch(
  op: string,
  engine: Engine,
  shape: number[],
  grid: [number, number, number],
  len: number,
  tile: ConvTile,
  go: (parts: number, chunk: number, out: Tensor) => void,
): Tensor {
  const maxZ = engine.limits.maxComputeWorkgroupsPerDimension;
  if (grid[2] > maxZ) throw new Error(`${op}: ${grid[2]} workgroups along z (batch × groups, × stride for dX) exceed ${maxZ}; split the batch`);
  const parts = splitCount(tile, invocationsOf(grid, tile), len, maxZ, grid[2]);
  const chunk = Math.ceil(len / parts);
  if (parts === 1) {
    const out = allocate(shape, 'f32', op, engine);
    go(1, chunk, out);
    return out;
  }
  const partial = allocate([parts, ...shape], 'f32', op, engine);
  go(parts, chunk, partial);
  const out = sum(partial, 0);
  partial.dispose();
  return out;
}

// ---------------------------------------------------------------- weight gradient

function weightGradSource(t: TileShape): string {
  const { tm, tn } = t;
  const inputs: [string, string][] = [
    ['G', 'f32'],
    ['A', 'vec4<f32>'],
  ];
  // Column r of the weight matrix is (i, k) = (r / K, r % K) in PyTorch's [Cout, Cing, K] order.
  const setup = range(tn).map(
    (q) => `  let r${q} = min(n0 + ${q}u, CK - 1u);
  let x${q} = (g * u.Cing + r${q} / u.K) * u.Lp + (r${q} % u.K) * u.dil;`,
  );
  const body = step(tm, tn, 'pd', (q) => `x${q} + xt`, 'pd = pd + gcp4; xt = xt + u.stride;');
  return `${header(inputs, 'DW', GEOM_FIELDS)}
@compute @workgroup_size(${t.wx}, ${t.wy})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let CK = u.Cing * u.K;
  let n0 = gid.x * ${tn}u;
  let o0 = gid.y * ${tm}u;
  let g = gid.z % u.G;
  let part = gid.z / u.G;
  let tb = part * u.chunk;
  let tc = min(u.Lout, tb + u.chunk) - tb;
  if (n0 >= CK || o0 >= u.Coutg) { return; }
${setup.join('\n')}
${accumulators(tm, tn)}
  let cp4 = u.CP / 4u;
  let gcp4 = u.G * cp4;
  for (var b = 0u; b < u.B; b = b + 1u) {
    var pd = (b * u.Lout + tb) * gcp4 + g * cp4 + o0 / 4u;
    var xt = b * u.Cin * u.Lp + tb * u.stride;
${unrolled('t', 'tc', body)}
  }
${storeTile(
  tm,
  tn,
  'o',
  'o0',
  'u.Coutg',
  (q) => `n0 + ${q}u < CK`,
  (q) => `DW[part * u.outSize + (g * u.Coutg + o) * CK + n0 + ${q}u]`,
  (q, v, c) => `c${q}_${v}[${c}]`,
)}
}`;
}

/** dW[Cout, Cing, K] from the padded input xp[B, Cin, Lp] and the packed gradient dyt[B, Lout, G, CP]. */
export function convWeightGrad(g: ConvGeometry, xp: Tensor, dyt: Tensor, tile: ConvTile, tm: number): Tensor {
  const CK = g.Cing * g.K;
  const grid: [number, number, number] = [Math.ceil(CK / (tile.tn * tile.wx)), Math.ceil(g.Coutg / (tm * tile.wy)), g.groups];
  const op = 'conv1d.backward';
  return splitLaunch(op, engineOf(op, [xp, dyt]), [g.Cout, g.Cing, g.K], grid, g.Lout, tile, (parts, chunk, out) =>
    launch({
      op,
      kernel: WEIGHT_GRAD(tileShape(tm, tile)),
      inputs: [xp, dyt],
      outputs: [out],
      fields: GEOM_FIELDS,
      values: geomValues(g, roundUp(g.Coutg, tm), chunk, g.Cout * CK),
      workgroups: [grid[0], grid[1], grid[2] * parts],
    }),
  );
}

// ---------------------------------------------------------------- input gradient

/**
 * Padding of the output gradient in time so the dX kernel never bounds-checks: position
 * t = m + (ρ + p − k·d)/s stays within [−PL, Lout + PR).
 */
export function inputGradPadding(g: ConvGeometry): { PL: number; PR: number } {
  const s = g.stride;
  const PL = Math.ceil(((g.K - 1) * g.dilation) / s);
  const tMax = Math.ceil(g.L / s) - 1 + Math.floor((s - 1 + g.padding) / s);
  return { PL, PR: Math.max(0, tMax + 1 - g.Lout) };
}

function inputGradSource(t: TileShape): string {
  const { tm, tn } = t;
  const inputs: [string, string][] = [
    ['G', 'f32'],
    ['A', 'vec4<f32>'],
  ];
  const setup = range(tn).map((q) => `  let mq${q} = min(m0 + ${q}u, M - 1u);`);
  const body = step(tm, tn, 'pw', (q) => `yo + mq${q}`, 'pw = pw + cp4; yo = yo + u.Ltp;');
  return `${header(inputs, 'DX', GEOM_FIELDS)}
@compute @workgroup_size(${t.wx}, ${t.wy})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  // gid.z = ((part·B + b)·G + g)·s + ρ: this invocation writes positions u = ρ + s·m.
  let rho = gid.z % u.stride;
  let bg = gid.z / u.stride;
  let b = (bg / u.G) % u.B;
  let g = bg % u.G;
  let part = bg / (u.B * u.G);
  let kb = part * u.chunk;
  let ke = min(u.K, kb + u.chunk);
  if (rho >= u.L) { return; }
  let M = (u.L - rho + u.stride - 1u) / u.stride;
  let m0 = gid.x * ${tn}u;
  let i0 = gid.y * ${tm}u;
  if (m0 >= M || i0 >= u.Cing) { return; }
${setup.join('\n')}
${accumulators(tm, tn)}
  let cp4 = u.CP / 4u;
  let yb = i32((b * u.Cout + g * u.Coutg) * u.Ltp + u.PL);
  for (var k = kb; k < ke; k = k + 1u) {
    let diff = i32(rho + u.pad) - i32(k * u.dil);
    if (diff % i32(u.stride) != 0) { continue; }
    var yo = u32(yb + diff / i32(u.stride));
    var pw = (g * u.K + k) * u.Coutg * cp4 + i0 / 4u;
${unrolled('o', 'u.Coutg', body)}
  }
  let xb = part * u.outSize + (b * u.Cin + g * u.Cing) * u.L + rho;
${storeTile(
  tm,
  tn,
  'i',
  'i0',
  'u.Cing',
  (q) => `m0 + ${q}u < M`,
  (q) => `DX[xb + i * u.L + (m0 + ${q}u) * u.stride]`,
  (q, v, c) => `c${q}_${v}[${c}]`,
)}
}`;
}

/** dX[B, Cin, L] from the padded gradient dyp[B, Cout, PL + Lout + PR] and the packed weight wt[G, K, Coutg, CIP]. */
export function convInputGrad(g: ConvGeometry, dyp: Tensor, wt: Tensor, tile: ConvTile, tm: number): Tensor {
  const { PL, PR } = inputGradPadding(g);
  const maxM = Math.ceil(g.L / g.stride);
  const grid: [number, number, number] = [Math.ceil(maxM / (tile.tn * tile.wx)), Math.ceil(g.Cing / (tm * tile.wy)), g.B * g.groups * g.stride];
  const op = 'conv1d.backward';
  return splitLaunch(op, engineOf(op, [dyp, wt]), [g.B, g.Cin, g.L], grid, g.K, tile, (parts, chunk, out) =>
    launch({
      op,
      kernel: INPUT_GRAD(tileShape(tm, tile)),
      inputs: [dyp, wt],
      outputs: [out],
      fields: GEOM_FIELDS,
      values: geomValues(g, roundUp(g.Cing, tm), chunk, g.B * g.Cin * g.L, PL, PL + g.Lout + PR),
      workgroups: [grid[0], grid[1], grid[2] * parts],
    }),
  );
}
