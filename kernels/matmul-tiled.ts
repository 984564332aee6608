// Workgroup-tiled matmul for real GPUs: a 64×64 tile of C per 16×16 workgroup, 4×4 outputs per
// invocation (vec4 along n), K in steps of 16 staged through workgroup memory as vec4 rows
// (As[k][m/4], Bs[k][n/4]) so the inner loop does two vec4 reads per 16 FMAs. Global reads are
// vec4 along the contiguous dimension when aligned; out-of-range elements load as zero.
import { batchOffsets, matmulHeader, range, type OperandModes } from './matmul-common.ts';

export const TILE = 64;
const TK = 16;
const TV = TILE / 4; // vec4 per tile row

export function tiledWorkgroups(M: number, N: number, batch: number): [number, number, number] {
  return [Math.ceil(N / TILE), Math.ceil(M / TILE), batch];
}

/** 256 invocations fill As (TK × TILE) from A: each loads 4 elements. */
function loadA(mode: OperandModes['a']): string {
  switch (mode) {
    case 'k4': // one vec4 along k per invocation, scattered into 4 k rows
      return `    {
      let r = tid / 4u;
      let kc = (tid % 4u) * 4u;
      let m = m0 + r;
      let k = k0 + kc;
      var v = vec4<f32>(0.0);
      if (m < u.M && k < u.K) { v = A[(off_abs + m * u.sam + k) >> 2u]; }
      ${range(4).map((q) => `As[kc + ${q}u][r >> 2u][r & 3u] = v[${q}];`).join('\n      ')}
    }`;
    case 'm4': // one vec4 along m per invocation
      return `    {
      let kk = tid / ${TV}u;
      let mv = tid % ${TV}u;
      let m = m0 + mv * 4u;
      let k = k0 + kk;
      var v = vec4<f32>(0.0);
      if (m < u.M && k < u.K) { v = A[(off_abs + m + k * u.sak) >> 2u]; }
      As[kk][mv] = v;
    }`;
    case 's': // 4 scalars (4 rows at one k); neighbouring invocations step along k
      return `    {
      let kk = tid % ${TK}u;
      let mv = tid / ${TK}u;
      let k = k0 + kk;
      var v = vec4<f32>(0.0);
      ${range(4)
        .map((q) => `{ let m = m0 + mv * 4u + ${q}u; if (m < u.M && k < u.K) { v[${q}] = A[off_abs + m * u.sam + k * u.sak]; } }`)
        .join('\n      ')}
      As[kk][mv] = v;
    }`;
  }
}

/** Same for Bs (TK × TILE) from B. */
function loadB(mode: OperandModes['b']): string {
  switch (mode) {
    case 'k4':
      return `    {
      let c = tid / 4u;
      let kc = (tid % 4u) * 4u;
      let n = n0 + c;
      let k = k0 + kc;
      var v = vec4<f32>(0.0);
      if (n < u.N && k < u.K) { v = B[(off_bbs + n * u.sbn + k) >> 2u]; }
      ${range(4).map((q) => `Bs[kc + ${q}u][c >> 2u][c & 3u] = v[${q}];`).join('\n      ')}
    }`;
    case 'n4':
      return `    {
      let kk = tid / ${TV}u;
      let nv = tid % ${TV}u;
      let n = n0 + nv * 4u;
      let k = k0 + kk;
      var v = vec4<f32>(0.0);
      if (n < u.N && k < u.K) { v = B[(off_bbs + n + k * u.sbk) >> 2u]; }
      Bs[kk][nv] = v;
    }`;
    case 's':
      return `    {
      let kk = tid / ${TV}u;
      let nv = tid % ${TV}u;
      let k = k0 + kk;
      var v = vec4<f32>(0.0);
      ${range(4)
        .map((q) => `{ let n = n0 + nv * 4u + ${q}u; if (n < u.N && k < u.K) { v[${q}] = B[off_bbs + k * u.sbk + n * u.sbn]; } }`)
        .join('\n      ')}
      Bs[kk][nv] = v;
    }`;
  }
}

export function tiledSource(rb: number, m: OperandModes): string {
  const acc = range(4).map((i) => `  var c${i} = vec4<f32>(0.0);`);
  const fma = range(4).map((i) => `      c${i} = c${i} + a[${i}] * b;`);
  const store = range(4).map((i) => {
    const body =
      m.c === 'v4'
        ? `if (n < u.N) { C[(cbase + m * u.N + n) >> 2u] = c${i}; }`
        : range(4)
            .map((q) => `if (n + ${q}u < u.N) { C[cbase + m * u.N + n + ${q}u] = c${i}[${q}]; }`)
            .join(' ');
    return `  { let m = m0 + ty * 4u + ${i}u; let n = n0 + tx * 4u; if (m < u.M) { ${body} } }`;
  });
  return `${matmulHeader(rb, m)}
var<workgroup> As: array<array<vec4<f32>, ${TV}>, ${TK}>;
var<workgroup> Bs: array<array<vec4<f32>, ${TV}>, ${TK}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let n0 = wid.x * ${TILE}u;
  let m0 = wid.y * ${TILE}u;
  let bz = wid.z + u.bz0;
${batchOffsets(rb)}
${acc.join('\n')}
  for (var k0 = 0u; k0 < u.K; k0 = k0 + ${TK}u) {
${loadA(m.a)}
${loadB(m.b)}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk = kk + 1u) {
      let a = As[kk][ty];
      let b = Bs[kk][tx];
${fma.join('\n')}
    }
    workgroupBarrier();
  }
${store.join('\n')}
}`;
}
