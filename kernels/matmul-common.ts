// Pieces shared by the matmul kernel generators: the geometry of one call, how each operand is
// read (vec4 along its contiguous dimension when alignment allows, else scalar strided loads),
// the uniform layout and the binding header.
import { stridedOffsets, type UField } from './util.ts';

// The variant names are a per-engine kernel option (engine/kernel-options.ts).
export { MATMUL_VARIANTS, type MatmulVariant } from '../engine/kernel-options.ts';

export interface MatmulGeometry {
  M: number;
  N: number;
  K: number;
  batch: number;
  batchShape: number[];
  aBatchStrides: number[];
  bBatchStrides: number[];
  /** Element strides along m and k of A, and along k and n of B. */
  sam: number;
  sak: number;
  sbk: number;
  sbn: number;
}

/** How A is read: vec4 along k (A row-major), vec4 along m (A transposed), or scalar strided. */
export type AMode = 'k4' | 'm4' | 's';
/** How B is read: vec4 along n (B row-major), vec4 along k (B transposed), or scalar strided. */
export type BMode = 'n4' | 'k4' | 's';
/** How C is written: vec4 (N % 4 = 0) or scalar. */
export type CMode = 'v4' | 's';

export interface OperandModes {
  a: AMode;
  b: BMode;
  c: CMode;
}

/** Batch strides are multiples of 4 (a dim of size 1 is only ever read at index 0, so its stride is moot). */
const aligned = (strides: readonly number[], shape: readonly number[]): boolean => strides.every((s, d) => shape[d] === 1 || s % 4 === 0);

/**
 * vec4 access needs every vec4 to start at a multiple of 4 elements: unit stride along the vector
 * dimension, the other stride and the batch strides divisible by 4, and the vector dimension
 * itself divisible by 4 (so a vec4 never straddles a row end).
 */
export function operandModes(g: MatmulGeometry): OperandModes {
  const aBatchOk = aligned(g.aBatchStrides, g.batchShape);
  const bBatchOk = aligned(g.bBatchStrides, g.batchShape);
  let a: AMode = 's';
  if (aBatchOk && g.sak === 1 && g.sam % 4 === 0 && g.K % 4 === 0) a = 'k4';
  else if (aBatchOk && g.sam === 1 && g.sak % 4 === 0 && g.M % 4 === 0) a = 'm4';
  let b: BMode = 's';
  if (bBatchOk && g.sbn === 1 && g.sbk % 4 === 0 && g.N % 4 === 0) b = 'n4';
  else if (bBatchOk && g.sbk === 1 && g.sbn % 4 === 0 && g.K % 4 === 0) b = 'k4';
  return { a, b, c: g.N % 4 === 0 ? 'v4' : 's' };
}

export function modesKey(m: OperandModes): string {
  return `a${m.a}.b${m.b}.c${m.c}`;
}

export function matmulFields(rb: number): UField[] {
  return [
    ['M', 'u32'],
    ['N', 'u32'],
    ['K', 'u32'],
    ['sam', 'u32'],
    ['sak', 'u32'],
    ['sbk', 'u32'],
    ['sbn', 'u32'],
    // First batch index of this dispatch: batches past maxComputeWorkgroupsPerDimension go in chunks.
    ['bz0', 'u32'],
    ['bshape', 'arr', rb],
    ['abs', 'arr', rb],
    ['bbs', 'arr', rb],
  ];
}

export function matmulValues(g: MatmulGeometry): Record<string, number | number[]> {
  return {
    M: g.M,
    N: g.N,
    K: g.K,
    sam: g.sam,
    sak: g.sak,
    sbk: g.sbk,
    sbn: g.sbn,
    bz0: 0,
    bshape: g.batchShape,
    abs: g.aBatchStrides,
    bbs: g.bBatchStrides,
  };
}

const elem = (vec: boolean): string => (vec ? 'vec4<f32>' : 'f32');

/** Bindings A, B (read), C (write) as f32 or vec4<f32> arrays per mode, then the uniform block. */
export function matmulHeader(rb: number, m: OperandModes): string {
  const struct = matmulFields(rb)
    .map((x) => (x[1] === 'arr' ? `  ${x[0]}: array<vec4<u32>, ${Math.max(1, Math.ceil(x[2] / 4))}>,` : `  ${x[0]}: ${x[1]},`))
    .join('\n');
  return `@group(0) @binding(0) var<storage, read> A: array<${elem(m.a !== 's')}>;
@group(0) @binding(1) var<storage, read> B: array<${elem(m.b !== 's')}>;
@group(0) @binding(2) var<storage, read_write> C: array<${elem(m.c === 'v4')}>;
struct U {
${struct}
}
@group(0) @binding(3) var<uniform> u: U;
`;
}

/** Per-batch element offsets into A and B (`off_abs`, `off_bbs`) and C (`cbase`) from batch index `bz`. */
export function batchOffsets(rb: number): string {
  return `${stridedOffsets(rb, 'bshape', ['abs', 'bbs'], 'bz')}
  let cbase = bz * u.M * u.N;`;
}

/** `[0, 1, …, n-1]`, for unrolled code generation. */
export const range = (n: number): number[] => [...Array(n).keys()];

/** WGSL loads of the A values for `kk` consecutive k (from WGSL `k`) and `rows` rows of a register tile. */
export function aStepLoads(a: OperandModes['a'], rows: readonly number[], rowVecs: readonly number[], kk: readonly number[]): string[] {
  const out: string[] = [];
  if (a === 'k4') for (const i of rows) out.push(`    let a${i} = A[pa${i} + (k >> 2u)];`);
  if (a === 'm4') for (const q of kk) for (const v of rowVecs) out.push(`    let a${q}_${v} = A[pa${v} + (k + ${q}u) * sak4];`);
  if (a === 's') {
    for (const q of kk) {
      out.push(`    let ka${q} = (k + ${q}u) * u.sak;`);
      for (const i of rows) out.push(`    let a${q}_${i} = A[pa${i} + ka${q}];`);
    }
  }
  return out;
}

/** The A value of row i at k offset q, as aStepLoads named it. */
export function aStepValue(a: OperandModes['a'], q: number, i: number): string {
  return a === 'k4' ? `a${i}[${q}]` : a === 'm4' ? `a${q}_${i >> 2}[${i & 3}]` : `a${q}_${i}`;
}
