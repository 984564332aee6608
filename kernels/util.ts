// Shared pieces for kernel launchers: uniform layouts (WGSL struct + packing from one spec), launch()
// (which runs a kernel on the engine owning its tensors, folding 1-D grids into 2-D and chunking batches
// by that engine's limits) and strided index code generation.
import type { Binding, Engine, TextureBinding } from '../engine/runtime.ts';
import { allocate, engineOf, type DType, type Tensor } from '../engine/tensor.ts';
import { formatShape } from '../engine/shape.ts';
import type { KernelSource } from './define.ts';

export const WG = 64;

type Scalar = 'u32' | 'i32' | 'f32';
/** A uniform field: a scalar, or an array of `count` u32 values stored as vec4s. */
export type UField = [name: string, kind: Scalar] | [name: string, kind: 'arr', count: number];
export type UValues = Record<string, number | readonly number[]>;

export function uniformStruct(fields: readonly UField[]): string {
  const lines = fields.map((f) => (f[1] === 'arr' ? `  ${f[0]}: array<vec4<u32>, ${Math.max(1, Math.ceil(f[2] / 4))}>,` : `  ${f[0]}: ${f[1]},`));
  return `struct U {\n${lines.join('\n')}\n}\n@group(0) @binding(BINDING) var<uniform> u: U;\n`;
}

/** Packs values in the WGSL uniform layout of `uniformStruct` (scalars 4 B, arrays 16-B aligned). */
export function packUniforms(fields: readonly UField[], values: UValues): Uint32Array {
  const words: number[] = [];
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const i32 = new Int32Array(f32.buffer);
  for (const f of fields) {
    const v = values[f[0]];
    if (v === undefined) throw new Error(`packUniforms: missing value for '${f[0]}'`);
    if (f[1] === 'arr') {
      while (words.length % 4) words.push(0);
      const arr = typeof v === 'number' ? [v] : v;
      const n = Math.max(1, Math.ceil(f[2] / 4)) * 4;
      for (let i = 0; i < n; i++) words.push((arr[i] ?? 0) >>> 0);
    } else {
      const x = v as number;
      if (f[1] === 'f32') f32[0] = x;
      else if (f[1] === 'i32') i32[0] = x;
      else u32[0] = x >>> 0;
      words.push(u32[0]);
    }
  }
  while (words.length % 4) words.push(0);
  return Uint32Array.from(words);
}

/** `u.name[k]` for a uniform array field. */
export function uAt(name: string, k: number): string {
  return `u.${name}[${k >> 2}].${'xyzw'[k & 3]}`;
}

/**
 * A launch grid: explicit workgroup counts; `fold`: a 1-D count of workgroups, folded into x×y when it
 * exceeds the engine's maxComputeWorkgroupsPerDimension (kernels index with `gid.x + gid.y·nwg.x·wg`);
 * `batch`: x×y workgroups per batch entry, z over the batch, dispatched in chunks of at most that limit
 * with each chunk's first batch index in the uniform `batchField`.
 */
export type Grid = [number, number, number] | { fold: number } | { xy: [number, number]; batch: number; batchField: string };

/** The folded grid for `threads` invocations of a WG-wide 1-D kernel. */
export function grid1d(threads: number, wg = WG): Grid {
  return { fold: Math.ceil(threads / wg) };
}

/** `groups` workgroups as x×y within the limit `max` per dimension. */
export function foldGroups(groups: number, max: number): [number, number, number] {
  if (groups <= max) return [groups, 1, 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y, 1];
}

/** Entry point of a 1-D kernel; `idx` is the flat invocation index (valid for folded grids). */
export function main1d(body: string, wg = WG): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * ${wg}u;
${body}
}`;
}

/**
 * WGSL that turns flat index `idx` over a shape (uniform array `shapeName`, rank r) into offsets
 * for each operand's strides (uniform arrays named in `strideNames`), as `let off_<name>`.
 */
export function stridedOffsets(r: number, shapeName: string, strideNames: readonly string[], idx = 'idx'): string {
  const rem = `rem_${shapeName}`;
  const lines = [`  var ${rem} = ${idx};`];
  for (const s of strideNames) lines.push(`  var off_${s} = 0u;`);
  for (let d = r - 1; d >= 0; d--) {
    lines.push(`  { let c = ${rem} % ${uAt(shapeName, d)}; ${rem} = ${rem} / ${uAt(shapeName, d)};`);
    for (const s of strideNames) lines.push(`    off_${s} = off_${s} + c * ${uAt(s, d)};`);
    lines.push('  }');
  }
  return lines.join('\n');
}

/**
 * Merges adjacent dims that are contiguous for every operand, so kernels see the lowest rank
 * (fewer pipelines, cheaper index math). Dims of size 1 are dropped.
 */
export function collapseDims(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strides.every((st, k) => outStrides[k][last] === st[d] * shape[d]);
    if (mergeable) {
      outShape[last] *= shape[d];
      strides.forEach((st, k) => (outStrides[k][last] = st[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((st, k) => outStrides[k].push(st[d]));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [1]) };
  return { shape: outShape, strides: outStrides };
}

export const MAX_RANK = 8;

export function checkRank(op: string, t: { shape: readonly number[] }): void {
  if (t.shape.length > MAX_RANK) throw new Error(`${op}: rank ${t.shape.length} ${formatShape(t.shape)} exceeds the supported ${MAX_RANK}`);
}

export function requireDType(op: string, t: Tensor, allowed: readonly DType[], which = 'input'): void {
  t.storageFor(op);
  if (!allowed.includes(t.dtype)) throw new Error(`${op}: ${which} ${t.describe()} has dtype ${t.dtype}; expected ${allowed.join(' or ')}`);
}

/** Binding declarations: read-only storage for inputs, read_write for outputs, then the uniform. */
export function bindings(inputs: readonly string[], outputs: readonly string[], type = 'f32', uniform = true, fields?: readonly UField[]): string {
  const decl: string[] = [];
  let b = 0;
  for (const n of inputs) decl.push(`@group(0) @binding(${b++}) var<storage, read> ${n}: array<${type}>;`);
  for (const n of outputs) decl.push(`@group(0) @binding(${b++}) var<storage, read_write> ${n}: array<${type}>;`);
  if (uniform && fields) decl.push(uniformStruct(fields).replace('BINDING', String(b)));
  return decl.join('\n') + '\n';
}

export interface LaunchSpec {
  op: string;
  /** From a defineKernel definition (kernels/define.ts). */
  kernel: KernelSource;
  /** Bound in order: inputs, outputs, then the uniform block. A TextureBinding stands where the kernel declares a texture. */
  inputs: readonly (Tensor | TextureBinding)[];
  outputs: readonly (Tensor | TextureBinding)[];
  fields?: readonly UField[];
  values?: UValues;
  workgroups: Grid;
}

/** Records the kernel on the engine that owns all its tensors (throws if they belong to two engines). */
export function launch(s: LaunchSpec): Engine {
  const all = [...s.inputs, ...s.outputs];
  const engine = engineOf(s.op, all.filter((x): x is Tensor => !('textureView' in x)));
  const buffers: Binding[] = all.map((x) => ('textureView' in x ? x : x.bufferFor(s.op)));
  const max = engine.limits.maxComputeWorkgroupsPerDimension;
  const run = (workgroups: [number, number, number], values: UValues | undefined) =>
    engine.dispatch({
      op: s.op,
      key: s.kernel.key,
      source: s.kernel.source,
      buffers,
      uniforms: s.fields ? packUniforms(s.fields, values ?? {}) : undefined,
      workgroups,
    });
  // Outputs change: caches of values derived from them (Conv1d's folded weight norm) see a new version.
  for (const o of s.outputs) if (!('textureView' in o)) o.storageFor(s.op).version++;
  const g = s.workgroups;
  if (Array.isArray(g)) run(g, s.values);
  else if ('fold' in g) run(foldGroups(g.fold, max), s.values);
  else for (let b0 = 0; b0 < g.batch; b0 += max) run([g.xy[0], g.xy[1], Math.min(max, g.batch - b0)], { ...s.values, [g.batchField]: b0 });
  return engine;
}

export { allocate };
