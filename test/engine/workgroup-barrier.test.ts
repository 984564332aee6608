// Workgroup-memory reuse across a barrier, and empty readbacks: both broke on Dawn's OpenGL ES
// backend (llvmpipe) until the engine patched barriers there (engine/wgsl-compat.ts) and stopped
// mapping empty ranges. The GPU checks run on whatever adapter the project selects (node-gles: llvmpipe).
import { describe, expect, it } from 'vitest';
import { getEngine, tensor, zeros } from '../../engine/node.ts';
import { adaptWgsl, glesBarrierFix } from '../../engine/wgsl-compat.ts';
import { defineKernel } from '../../kernels/define.ts';
import { allocate, launch } from '../../kernels/util.ts';
import { useEngine } from '../helpers/engine.ts';

useEngine();

const N = 64;
// Mean then squared deviations of 9 values through one workgroup array: each invocation reads the
// first sum from red[0] before the barrier that lets the second sum overwrite red[0] (layerNorm's pattern).
const SOURCE = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
var<workgroup> red: array<f32, ${N}>;
fn wgSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${N / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(${N})
fn main(@builtin(local_invocation_index) lid: u32) {
  let mu = wgSum(x[lid], lid) / 9.0;
  let d = select(0.0, x[lid] - mu, lid < 9u);
  let q = wgSum(d * d, lid);
  y[lid] = mu;
  y[${N}u + lid] = q;
}`;

describe('workgroup barriers', () => {
  it('every invocation sees the mean although the array is reused for the second', async () => {
    const xs = Float32Array.from({ length: N }, (_, i) => (i < 9 ? i + 1 : 0));
    const x = tensor(xs, [N]);
    const y = allocate([2 * N], 'f32', 'test', getEngine());
    launch({ op: 'barrierReuse', kernel: defineKernel('test:barrier-reuse', () => SOURCE)(), inputs: [x], outputs: [y], workgroups: [1, 1, 1] });
    const out = await y.data();
    expect(new Set(out.slice(0, N))).toEqual(new Set([5]));
    expect(new Set(out.slice(N))).toEqual(new Set([60]));
    x.dispose();
    y.dispose();
  });

  it('on OpenGL ES every workgroupBarrier() is compiled as storageBarrier(); elsewhere the source is untouched', () => {
    const src = 'workgroupBarrier();\n  if (a) { workgroupBarrier( ); }\nfn myworkgroupBarrier() {}';
    expect(glesBarrierFix(src)).toBe('storageBarrier();\n  if (a) { storageBarrier(); }\nfn myworkgroupBarrier() {}');
    expect(adaptWgsl(src, { backend: 'opengles' })).toBe(glesBarrierFix(src));
    expect(adaptWgsl(src, { backend: 'vulkan' })).toBe(src);
    expect(adaptWgsl(src, getEngine().adapter)).toBe(getEngine().adapter.backend === 'opengles' ? glesBarrierFix(src) : src);
  });
});

describe('empty readbacks', () => {
  it('0-size tensors of every dtype read back as empty arrays', async () => {
    for (const dtype of ['f32', 'i32', 'u32'] as const) {
      const t = zeros([3, 0, 2], dtype);
      const d = await t.data();
      expect(d.length).toBe(0);
      t.dispose();
    }
  });
});
