// WGSL matmul kernels. All read A and B through element strides (so transposes are free) and
// batch strides (so broadcast batches are free). Sizes travel in uniforms; the pipeline key holds
// only the variant and the batch rank.
import type { Tensor } from '../engine/tensor.ts';
import { launch, stridedOffsets, type UField } from './util.ts';

export type MatmulVariant = 'naive' | 'blocked' | 'tiled';

export interface MatmulGeometry {
  M: number;
  N: number;
  K: number;
  batch: number;
  batchShape: number[];
  aBatchStrides: number[];
  bBatchStrides: number[];
  sam: number;
  sak: number;
  sbk: number;
  sbn: number;
}

function fields(rb: number): UField[] {
  return [
    ['M', 'u32'],
    ['N', 'u32'],
    ['K', 'u32'],
    ['sam', 'u32'],
    ['sak', 'u32'],
    ['sbk', 'u32'],
    ['sbn', 'u32'],
    ['bshape', 'arr', rb],
    ['abs', 'arr', rb],
    ['bbs', 'arr', rb],
  ];
}

function header(rb: number): string {
  const f = fields(rb);
  const struct = f.map((x) => (x[1] === 'arr' ? `  ${x[0]}: array<vec4<u32>, ${Math.max(1, Math.ceil(x[2] / 4))}>,` : `  ${x[0]}: ${x[1]},`)).join('\n');
  return `@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
struct U {
${struct}
}
@group(0) @binding(3) var<uniform> u: U;
`;
}

/** Per-batch base offsets into A and B (`off_abs`, `off_bbs`) and C (`cbase`) from batch index `bz`. */
function batchOffsets(rb: number): string {
  return `${stridedOffsets(rb, 'bshape', ['abs', 'bbs'], 'bz')}
  let cbase = bz * u.M * u.N;`;
}

function naiveSource(rb: number): string {
  return `${header(rb)}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let m = gid.y;
  let bz = gid.z;
  if (m >= u.M || n >= u.N) { return; }
${batchOffsets(rb)}
  var acc = 0.0;
  for (var k = 0u; k < u.K; k = k + 1u) {
    acc = acc + A[off_abs + m * u.sam + k * u.sak] * B[off_bbs + k * u.sbk + n * u.sbn];
  }
  C[cbase + m * u.N + n] = acc;
}`;
}

// Register blocking: each invocation keeps a TM×TN block of C in registers; no workgroup memory
// and no barriers, which is what CPU emulators (SwiftShader, llvmpipe) reward.
const BTM = 8;
const BTN = 4;
const BWX = 8;
const BWY = 4;

function blockedSource(rb: number): string {
  const lines: string[] = [];
  for (let i = 0; i < BTM; i++) for (let j = 0; j < BTN; j++) lines.push(`  var c${i}_${j} = 0.0;`);
  const loadA = [...Array(BTM).keys()].map((i) => `    let a${i} = A[ab + ma${i} + k * u.sak];`).join('\n');
  const loadB = [...Array(BTN).keys()].map((j) => `    let b${j} = B[bb + k * u.sbk + nb${j}];`).join('\n');
  const fma: string[] = [];
  for (let i = 0; i < BTM; i++) for (let j = 0; j < BTN; j++) fma.push(`    c${i}_${j} = fma(a${i}, b${j}, c${i}_${j});`);
  const rowsA = [...Array(BTM).keys()].map((i) => `  let ma${i} = min(m0 + ${i}u, u.M - 1u) * u.sam;`).join('\n');
  const colsB = [...Array(BTN).keys()].map((j) => `  let nb${j} = min(n0 + ${j}u, u.N - 1u) * u.sbn;`).join('\n');
  const store: string[] = [];
  for (let i = 0; i < BTM; i++) {
    store.push(`  if (m0 + ${i}u < u.M) {`);
    for (let j = 0; j < BTN; j++) store.push(`    if (n0 + ${j}u < u.N) { C[cbase + (m0 + ${i}u) * u.N + n0 + ${j}u] = c${i}_${j}; }`);
    store.push('  }');
  }
  return `${header(rb)}
@compute @workgroup_size(${BWX}, ${BWY})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * ${BTN}u;
  let m0 = gid.y * ${BTM}u;
  let bz = gid.z;
  if (m0 >= u.M || n0 >= u.N) { return; }
${batchOffsets(rb)}
  let ab = off_abs;
  let bb = off_bbs;
${rowsA}
${colsB}
${lines.join('\n')}
  for (var k = 0u; k < u.K; k = k + 1u) {
${loadA}
${loadB}
${fma.join('\n')}
  }
${store.join('\n')}
}`;
}

// Workgroup tiling for real GPUs: a 64×64 tile of C per 16×16 workgroup, 4×4 per invocation,
// K in steps of 16 staged through workgroup memory.
const TS = 64;
const TK = 16;

function tiledSource(rb: number): string {
  const acc: string[] = [];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) acc.push(`  var c${i}_${j} = 0.0;`);
  const inner: string[] = [];
  for (let i = 0; i < 4; i++) inner.push(`      let a${i} = As[kk][ty * 4u + ${i}u];`);
  for (let j = 0; j < 4; j++) inner.push(`      let b${j} = Bs[kk][tx * 4u + ${j}u];`);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) inner.push(`      c${i}_${j} = fma(a${i}, b${j}, c${i}_${j});`);
  const store: string[] = [];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      store.push(`  { let m = m0 + ty * 4u + ${i}u; let n = n0 + tx * 4u + ${j}u; if (m < u.M && n < u.N) { C[cbase + m * u.N + n] = c${i}_${j}; } }`);
    }
  }
  return `${header(rb)}
var<workgroup> As: array<array<f32, ${TS}>, ${TK}>;
var<workgroup> Bs: array<array<f32, ${TS}>, ${TK}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let n0 = wid.x * ${TS}u;
  let m0 = wid.y * ${TS}u;
  let bz = wid.z;
${batchOffsets(rb)}
${acc.join('\n')}
  for (var k0 = 0u; k0 < u.K; k0 = k0 + ${TK}u) {
    // 256 invocations load 16×64 of A and of B: 4 elements each.
    for (var e = 0u; e < 4u; e = e + 1u) {
      let l = tid * 4u + e;
      let kk = l / ${TS}u;
      let r = l % ${TS}u;
      let m = m0 + r;
      let k = k0 + kk;
      var av = 0.0;
      if (m < u.M && k < u.K) { av = A[off_abs + m * u.sam + k * u.sak]; }
      As[kk][r] = av;
      let n = n0 + r;
      var bv = 0.0;
      if (n < u.N && k < u.K) { bv = B[off_bbs + k * u.sbk + n * u.sbn]; }
      Bs[kk][r] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk = kk + 1u) {
${inner.join('\n')}
    }
    workgroupBarrier();
  }
${store.join('\n')}
}`;
}

const SOURCES: Record<MatmulVariant, (rb: number) => string> = { naive: naiveSource, blocked: blockedSource, tiled: tiledSource };

function workgroups(variant: MatmulVariant, g: MatmulGeometry): [number, number, number] {
  switch (variant) {
    case 'naive':
      return [Math.ceil(g.N / 8), Math.ceil(g.M / 8), g.batch];
    case 'blocked':
      return [Math.ceil(g.N / (BTN * BWX)), Math.ceil(g.M / (BTM * BWY)), g.batch];
    case 'tiled':
      return [Math.ceil(g.N / TS), Math.ceil(g.M / TS), g.batch];
  }
}

export function dispatchMatmul(variant: MatmulVariant, a: Tensor, b: Tensor, c: Tensor, g: MatmulGeometry): void {
  const rb = g.batchShape.length;
  launch({
    op: 'matmul',
    key: `matmul:${variant}:b${rb}`,
    source: () => SOURCES[variant](rb),
    inputs: [a, b],
    outputs: [c],
    fields: fields(rb),
    values: {
      M: g.M,
      N: g.N,
      K: g.K,
      sam: g.sam,
      sak: g.sak,
      sbk: g.sbk,
      sbn: g.sbn,
      bshape: g.batchShape,
      abs: g.aBatchStrides,
      bbs: g.bBatchStrides,
    },
    workgroups: workgroups(variant, g),
  });
}
