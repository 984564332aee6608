// Bad input gives clear errors naming the op and the shapes, never a crash inside the engine.
import { beforeAll, describe, expect, it } from 'vitest';
import { getEngine, initEngine, tensor, zeros } from '../../engine/node.ts';
import { add, assign, concat, indexSelect, matmul, permute, reshape, slice, softmax, sum } from '../../kernels/index.ts';

beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
});

describe('clear errors', () => {
  it('shape mismatches name the op and both shapes', () => {
    expect(() => add(zeros([2, 3]), zeros([4, 3]))).toThrow('add: shapes [2, 3] and [4, 3] cannot be broadcast (dim 0: 2 vs 4)');
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(/matmul: inner dimensions differ: \[2, 3\] · \[4, 5\] \(K = 3 vs 4\)/);
    expect(() => reshape(zeros([2, 3]), [4, 2])).toThrow('reshape: cannot reshape [2, 3] (6 elements) to [4, 2]');
    expect(() => concat([zeros([2, 3]), zeros([2, 4])], 0)).toThrow(/concat: shapes \[2, 3\] f32, \[2, 4\] f32 differ outside axis 0/);
    expect(() => slice(zeros([5]), 0, 2, 9)).toThrow(/slice: range \[2, 9\) is outside axis 0 of \[5\]/);
    expect(() => permute(zeros([2, 3]), [0, 0])).toThrow(/not a permutation/);
    expect(() => sum(zeros([2, 3]), 2)).toThrow(/sum: axis 2 is out of range for rank 2/);
    expect(() => assign(zeros([2]), zeros([3]))).toThrow(/assign: source \[3\] f32 does not match destination \[2\] f32/);
  });

  it('wrong dtypes name the op, the input and the expected dtype', () => {
    const ints = tensor(new Int32Array([1, 2]), [2]);
    expect(() => add(ints, zeros([2]))).toThrow('add: first input [2] i32 has dtype i32; expected f32');
    expect(() => softmax(ints)).toThrow(/softmax: input \[2\] i32 has dtype i32; expected f32/);
    expect(() => indexSelect(zeros([3]), 0, [0, 5])).toThrow(/indexSelect: index 5 \(position 1\) is out of range for axis 0 of size 3/);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow('tensor(): 3 values given for shape [2, 2] (4 elements)');
  });

  it('a WebGPU validation error surfaces at the next readback with the op name', async () => {
    const e = getEngine();
    const t = zeros([4]);
    // A kernel whose WGSL does not compile: the error must name it, not crash the process.
    e.dispatch({ op: 'brokenOp', key: 'test:broken', source: () => 'this is not wgsl', buffers: [t.bufferFor('x')], workgroups: [1, 1, 1] });
    await expect(t.data()).rejects.toThrow(/brokenOp/);
    // The engine keeps working afterwards.
    expect(await sum(tensor([1, 2, 3], [3])).item()).toBe(6);
  });
});
