// defineKernel (kernels/define.ts): pipeline keys come from the kernel's parameters, and in debug mode the
// engine refuses a key that stands for two different WGSL sources.
import { describe, expect, it } from 'vitest';
import { getEngine, GpuError, tensor } from '../../engine/node.ts';
import { defineKernel, serializeParams } from '../../kernels/define.ts';
import { allocate, bindings, grid1d, launch, main1d, type UField } from '../../kernels/util.ts';
import { useEngine } from '../helpers/engine.ts';

useEngine();

const FIELDS: UField[] = [['n', 'u32']];
const scaleBy = (k: number) => `${bindings(['x'], ['y'], 'f32', true, FIELDS)}
${main1d(`  if (idx >= u.n) { return; }
  y[idx] = x[idx] * ${k.toFixed(1)};`)}`;

describe('defineKernel', () => {
  it('keys a kernel by its name and a stable serialization of its parameters', () => {
    const k = defineKernel('demo', (p: { b: number; a: { y: string; x: boolean }; skip?: number }) => `${p.a.y}${p.b}`);
    expect(k({ b: 2, a: { y: 'q', x: true } }).key).toBe('demo{a:{x:true,y:"q"},b:2}');
    expect(k({ a: { x: true, y: 'q' }, b: 2, skip: undefined }).key).toBe(k({ b: 2, a: { y: 'q', x: true } }).key);
    expect(k({ b: 3, a: { y: 'q', x: true } }).key).not.toBe(k({ b: 2, a: { y: 'q', x: true } }).key);
    expect(defineKernel('plain', () => 'src')().key).toBe('plain');
    expect(serializeParams([1, 'a', null])).toBe('[1,"a",null]');
    expect(() => serializeParams({ f: () => 1 })).toThrow(/plain data/);
  });

  it('in debug mode, a key that yields two different sources throws naming the key', async () => {
    // Two definitions that forget their difference in the name: the second would silently reuse the first's pipeline.
    const double = defineKernel('test:conflict', () => scaleBy(2));
    const triple = defineKernel('test:conflict', () => scaleBy(3));
    const e = getEngine();
    const x = tensor([1, 2, 3], [3]);
    const y = allocate([3], 'f32', 'test', e);
    const go = (kernel: ReturnType<typeof double>) =>
      launch({ op: 'conflict', kernel, inputs: [x], outputs: [y], fields: FIELDS, values: { n: 3 }, workgroups: grid1d(3) });
    const debug = e.debug;
    e.debug = true;
    try {
      go(double());
      expect(await y.toArray()).toEqual([2, 4, 6]);
      expect(() => go(triple())).toThrow(GpuError);
      expect(() => go(triple())).toThrow(/conflict: pipeline key 'test:conflict' stands for two different WGSL sources/);
      go(double()); // the same source again is fine
    } finally {
      e.debug = debug;
      x.dispose();
      y.dispose();
    }
  });
});
