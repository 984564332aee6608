// Lane-shaped register-blocked matmul for llvmpipe (issue 15). llvmpipe runs a workgroup as SIMD
// lanes (8 × f32 with AVX2) and, in Mesa 22.x, turns every storage-buffer load whose address differs
// between lanes into a per-lane scalar loop, while a load whose address is the same for every lane
// (dynamically uniform) is one scalar load and a broadcast. So here all lanes of a workgroup share
// their rows of C: the row block comes from workgroup_id alone and the A loads are uniform (cheap, so
// the per-invocation row count tm can be large), and lane x owns the vec4 columns x, x + wx, x + 2·wx, …
// of the workgroup's column block, so the only divergent loads (B, vec4 along n) are few per FMA.
// Needs B read as vec4 along n (mode 'n4', hence N % 4 = 0); other cases fall back to 'blocked'.
import { aStepLoads, aStepValue, batchOffsets, matmulHeader, range, type OperandModes } from './matmul-common.ts';

import type { LanesTile } from '../engine/kernel-options.ts';

export type { LanesTile };

/** Whether the lanes kernel handles these operand modes (else the caller falls back to 'blocked'). */
export function lanesSupports(m: OperandModes): boolean {
  return m.b === 'n4' && m.c === 'v4';
}

export function lanesWorkgroups(t: LanesTile, M: number, N: number, batch: number): [number, number, number] {
  return [Math.ceil(N / (4 * t.tnv * t.wx)), Math.ceil(M / t.tm), batch];
}

/** WGSL for one (modes, tile, batch rank); rows and columns past the edge are clamped on load, skipped on store. */
export function lanesSource(rb: number, m: OperandModes, t: LanesTile): string {
  if (!lanesSupports(m)) throw new Error(`matmul lanes kernel: unsupported operand modes a${m.a}.b${m.b}.c${m.c}`);
  const { tm, tnv, wx } = t;
  const rows = range(tm);
  const cols = range(tnv);
  const rowVecs = range(tm / 4);
  const setup: string[] = [];
  if (m.a === 'k4') for (const i of rows) setup.push(`  let pa${i} = (off_abs + min(m0 + ${i}u, u.M - 1u) * u.sam) >> 2u;`);
  if (m.a === 'm4') {
    for (const v of rowVecs) setup.push(`  let pa${v} = (off_abs + min(m0 + ${4 * v}u, u.M - 4u)) >> 2u;`);
    setup.push('  let sak4 = u.sak >> 2u;');
  }
  if (m.a === 's') for (const i of rows) setup.push(`  let pa${i} = off_abs + min(m0 + ${i}u, u.M - 1u) * u.sam;`);
  setup.push('  let nv = u.N >> 2u;');
  setup.push('  let sbk4 = u.sbk >> 2u;');
  for (const j of cols) setup.push(`  let pb${j} = (off_bbs >> 2u) + min(nv0 + ${j * wx}u, nv - 1u);`);
  for (const i of rows) for (const j of cols) setup.push(`  var c${i}_${j} = vec4<f32>(0.0);`);

  const step = (ks: number): string => {
    const out: string[] = [];
    const kk = range(ks);
    out.push(...aStepLoads(m.a, rows, rowVecs, kk));
    const aVal = (q: number, i: number): string => aStepValue(m.a, q, i);
    for (const q of kk) {
      out.push(`    let kb${q} = (k + ${q}u) * sbk4;`);
      for (const j of cols) out.push(`    let b${q}_${j} = B[pb${j} + kb${q}];`);
      for (const i of rows) for (const j of cols) out.push(`    c${i}_${j} = c${i}_${j} + ${aVal(q, i)} * b${q}_${j};`);
    }
    return out.join('\n');
  };
  const tail =
    m.a === 'k4'
      ? ''
      : `  for (; k < u.K; k = k + 1u) {
${step(1)}
  }`;

  const store: string[] = [];
  for (const i of rows) {
    store.push(`  if (m0 + ${i}u < u.M) {`);
    store.push(`    let row = cb4 + (m0 + ${i}u) * nv;`);
    for (const j of cols) store.push(`    if (nv0 + ${j * wx}u < nv) { C[row + nv0 + ${j * wx}u] = c${i}_${j}; }`);
    store.push('  }');
  }

  return `${matmulHeader(rb, m)}
@compute @workgroup_size(${wx}, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m0 = wid.y * ${tm}u;
  let nv0 = wid.x * ${tnv * wx}u + lid.x;
  let bz = wid.z + u.bz0;
  if (m0 >= u.M) { return; }
${batchOffsets(rb)}
  let cb4 = cbase >> 2u;
${setup.join('\n')}
  var k = 0u;
  for (; k + 4u <= u.K; k = k + 4u) {
${step(4)}
  }
${tail}
${store.join('\n')}
}`;
}

/** Default tile per adapter (measured with `spoofscan bench matmul --lanes-tiles …`, docs/bench.md). */
export function lanesTileFor(_adapter: { backend: string }): LanesTile {
  return { tm: 16, tnv: 1, wx: 16 };
}
