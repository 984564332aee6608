// Register-blocked matmul for CPU adapters (SwiftShader, llvmpipe): each invocation keeps a
// tm × tn block of C in registers (vec4 along n), reads A and B as vec4 along their contiguous
// dimension when aligned, and never touches workgroup memory or barriers: CPU emulators run
// invocations as SIMD lanes, so barriers cost coroutine switches and workgroup memory is just
// more memory, while every saved load instruction (with its address math and bounds check) counts.
// Multiply-add is written as `c + a * b`, not fma(): both emulators lower fma() to a slow exact
// sequence (measured 2× slower on llvmpipe and SwiftShader); GPU compilers contract `c + a * b` anyway.
import type { BlockedTile } from '../engine/kernel-options.ts';
import { aStepLoads, aStepValue, batchOffsets, matmulHeader, range, type OperandModes } from './matmul-common.ts';

// The tile type is a per-engine kernel option (engine/kernel-options.ts).
export type { BlockedTile } from '../engine/kernel-options.ts';

export function blockedTileKey(t: BlockedTile): string {
  return `${t.tm}x${t.tn}w${t.wx}x${t.wy}`;
}

export function blockedWorkgroups(t: BlockedTile, M: number, N: number, batch: number): [number, number, number] {
  return [Math.ceil(N / (t.tn * t.wx)), Math.ceil(M / (t.tm * t.wy)), batch];
}

/** WGSL for one (modes, tile, batch rank). Rows/columns past the edge are clamped on load and skipped on store. */
export function blockedSource(rb: number, m: OperandModes, t: BlockedTile): string {
  const { tm, tn } = t;
  const rows = range(tm);
  const cols = range(tn);
  const rowVecs = range(tm / 4);
  const colVecs = range(tn / 4);
  const setup: string[] = [];
  if (m.a === 'k4') for (const i of rows) setup.push(`  let pa${i} = (off_abs + min(m0 + ${i}u, u.M - 1u) * u.sam) >> 2u;`);
  if (m.a === 'm4') {
    for (const v of rowVecs) setup.push(`  let pa${v} = (off_abs + min(m0 + ${4 * v}u, u.M - 4u)) >> 2u;`);
    setup.push('  let sak4 = u.sak >> 2u;');
  }
  if (m.a === 's') for (const i of rows) setup.push(`  let pa${i} = off_abs + min(m0 + ${i}u, u.M - 1u) * u.sam;`);
  if (m.b === 'k4') for (const j of cols) setup.push(`  let pb${j} = (off_bbs + min(n0 + ${j}u, u.N - 1u) * u.sbn) >> 2u;`);
  if (m.b === 'n4') {
    for (const v of colVecs) setup.push(`  let pb${v} = (off_bbs + min(n0 + ${4 * v}u, u.N - 4u)) >> 2u;`);
    setup.push('  let sbk4 = u.sbk >> 2u;');
  }
  if (m.b === 's') for (const j of cols) setup.push(`  let pb${j} = off_bbs + min(n0 + ${j}u, u.N - 1u) * u.sbn;`);
  for (const i of rows) for (const v of colVecs) setup.push(`  var c${i}_${v} = vec4<f32>(0.0);`);

  // Loads and FMAs for `ks` consecutive k values starting at WGSL expression `k`.
  const step = (ks: number): string => {
    const out: string[] = [];
    const kk = range(ks);
    out.push(...aStepLoads(m.a, rows, rowVecs, kk));
    if (m.b === 'k4') for (const j of cols) out.push(`    let b${j} = B[pb${j} + (k >> 2u)];`);
    if (m.b === 'n4') for (const q of kk) for (const v of colVecs) out.push(`    let b${q}_${v} = B[pb${v} + (k + ${q}u) * sbk4];`);
    if (m.b === 's') {
      for (const q of kk) {
        out.push(`    let kb${q} = (k + ${q}u) * u.sbk;`);
        for (const j of cols) out.push(`    let b${q}_${j} = B[pb${j} + kb${q}];`);
      }
    }
    const aVal = (q: number, i: number): string => aStepValue(m.a, q, i);
    const bVec = (q: number, v: number): string => {
      if (m.b === 'n4') return `b${q}_${v}`;
      const parts = range(4).map((c) => (m.b === 'k4' ? `b${4 * v + c}[${q}]` : `b${q}_${4 * v + c}`));
      return `vec4<f32>(${parts.join(', ')})`;
    };
    for (const q of kk) {
      if (m.b !== 'n4') for (const v of colVecs) out.push(`    let bv${q}_${v} = ${bVec(q, v)};`);
      for (const i of rows) {
        for (const v of colVecs) {
          const b = m.b === 'n4' ? bVec(q, v) : `bv${q}_${v}`;
          out.push(`    c${i}_${v} = c${i}_${v} + ${aVal(q, i)} * ${b};`);
        }
      }
    }
    return out.join('\n');
  };
  // vec4 reads along k need K % 4 = 0 (guaranteed by the mode), so only scalar-in-k modes have a tail.
  const kVec = m.a === 'k4' || m.b === 'k4';
  const tail = kVec
    ? ''
    : `  for (; k < u.K; k = k + 1u) {
${step(1)}
  }`;

  const store: string[] = [];
  for (const i of rows) {
    store.push(`  if (m0 + ${i}u < u.M) {`);
    store.push(`    let row = cbase + (m0 + ${i}u) * u.N + n0;`);
    for (const v of colVecs) {
      if (m.c === 'v4') store.push(`    if (n0 + ${4 * v}u < u.N) { C[(row + ${4 * v}u) >> 2u] = c${i}_${v}; }`);
      else for (const c of range(4)) store.push(`    if (n0 + ${4 * v + c}u < u.N) { C[row + ${4 * v + c}u] = c${i}_${v}[${c}]; }`);
    }
    store.push('  }');
  }

  return `${matmulHeader(rb, m)}
@compute @workgroup_size(${t.wx}, ${t.wy})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * ${tn}u;
  let m0 = gid.y * ${tm}u;
  let bz = gid.z + u.bz0;
  if (m0 >= u.M || n0 >= u.N) { return; }
${batchOffsets(rb)}
${setup.join('\n')}
  var k = 0u;
  for (; k + 4u <= u.K; k = k + 4u) {
${step(4)}
  }
${tail}
${store.join('\n')}
}`;
}
