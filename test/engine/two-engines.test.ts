// Two engines in one process: each op runs on the engine that owns its tensors, outputs and gradients stay
// there, the current (global) engine is untouched, and mixing tensors of two engines fails naming both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backward, getEngine, openEngine, requiresGrad, tensor, randn, tidy, type Engine, type Tensor } from '../../engine/node.ts';
import { findSwiftShaderIcd } from '../../engine/device.node.ts';
import { add, conv1d, layerNorm, matmul, sum, transpose } from '../../kernels/index.ts';
import { defaultVariant } from '../../kernels/matmul.ts';
import { useEngine } from '../helpers/engine.ts';

useEngine();

interface Run {
  y: number[];
  grads: number[][];
  engines: Engine[];
}

/** conv1d → layerNorm over channels → matmul → sum, and its backward, all on `e`. */
async function run(e: Engine): Promise<Run> {
  const x = requiresGrad(randn([2, 4, 16], 1, 1, e));
  const w = requiresGrad(randn([6, 4, 3], 2, 0.5, e));
  const cb = requiresGrad(randn([6], 3, 0.1, e));
  const lw = requiresGrad(randn([6], 4, 1, e));
  const lb = requiresGrad(randn([6], 5, 1, e));
  const m = requiresGrad(randn([6, 5], 6, 0.5, e));
  const leaves: Tensor[] = [x, w, cb, lw, lb, m];
  const y = tidy(() => matmul(layerNorm(transpose(conv1d(x, w, cb, { padding: 1 }), 1, 2), lw, lb), m));
  const loss = tidy(() => sum(add(y, 1)));
  backward(loss);
  const out: Run = {
    y: await y.toArray(),
    grads: await Promise.all(leaves.map((t) => t.grad!.toArray())),
    engines: [y, loss, ...leaves.map((t) => t.grad!)].map((t) => t.storageFor('test').engine),
  };
  for (const t of [y, loss, ...leaves]) {
    t.grad?.dispose();
    t.dispose();
  }
  return out;
}

const hasSwiftShader = findSwiftShaderIcd() !== null;

describe.skipIf(!hasSwiftShader)('two engines in one process', () => {
  let a: Engine;
  let b: Engine;
  beforeAll(async () => {
    a = await openEngine('swiftshader', {});
    b = await openEngine('swiftshader', {});
  });
  afterAll(() => {
    a?.destroy();
    b?.destroy();
  });

  it('have distinct readable labels', () => {
    expect(a.label).toMatch(/^swiftshader#\d+ \(.+\)$/);
    expect(a.label).not.toBe(b.label);
    expect(a).not.toBe(getEngine());
  });

  it('run the same forward and backward side by side with identical results, each on its own engine', async () => {
    const current = getEngine();
    const before = current.stats.dispatches;
    const [ra, rb] = await Promise.all([run(a), run(b)]);
    expect(ra.y).toEqual(rb.y);
    expect(ra.grads).toEqual(rb.grads);
    expect(ra.engines.every((e) => e === a)).toBe(true);
    expect(rb.engines.every((e) => e === b)).toBe(true);
    expect(a.stats.dispatches).toBeGreaterThan(0);
    expect(b.stats.dispatches).toBe(a.stats.dispatches);
    expect(current.stats.dispatches).toBe(before);
  });

  it('refuse an op mixing tensors of two engines, naming the op and both engines', () => {
    const ta = tensor([1, 2, 3, 4], [2, 2], 'f32', a);
    const tb = tensor([1, 2, 3, 4], [2, 2], 'f32', b);
    const mixed = new RegExp(`^matmul: tensors of two engines in one op: .* is on ${escape(a.label)}, .* is on ${escape(b.label)}`);
    expect(() => matmul(ta, tb)).toThrow(mixed);
    expect(() => add(ta, tb)).toThrow(/add: tensors of two engines/);
    // A number operand becomes a scalar on its partner's engine, not on the current one.
    const s = add(ta, 1);
    expect(s.storageFor('test').engine).toBe(a);
    for (const t of [ta, tb, s]) t.dispose();
  });

  it('keep kernel options per engine', () => {
    a.setKernelOptions({ matmul: 'naive' });
    try {
      expect(defaultVariant(a)).toBe('naive');
      expect(defaultVariant(b)).toBe('blocked');
    } finally {
      a.setKernelOptions({ matmul: undefined });
    }
  });
});

describe('an engine on the other CPU adapter', () => {
  it('computes the same graph within float tolerance (llvmpipe next to SwiftShader)', async (ctx) => {
    let gl: Engine | null = null;
    let sw: Engine | null = null;
    try {
      gl = await openEngine('gles', {});
      sw = await openEngine('swiftshader', {});
    } catch {
      gl?.destroy();
      ctx.skip();
      return;
    }
    try {
      const [rg, rs] = await Promise.all([run(gl), run(sw)]);
      expect(rg.engines.every((e) => e === gl)).toBe(true);
      const flat = (r: Run) => [...r.y, ...r.grads.flat()];
      const fg = flat(rg);
      const fs = flat(rs);
      const worst = Math.max(...fg.map((v, i) => Math.abs(v - fs[i]) / (1 + Math.abs(fs[i]))));
      expect(worst).toBeLessThan(1e-4);
    } finally {
      gl.destroy();
      sw.destroy();
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
