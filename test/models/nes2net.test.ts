// Nes2Net-X / Nes2Net-LA against PyTorch goldens (tiny-A, tiny-B of spec model-nes2net-la.md §13 and the full-size
// back-end), in eval and train mode, with gradients; plus the structural invariants.
import { describe, expect, it } from 'vitest';
import { backward, requiresGrad, tensor, tidy, type Tensor } from '../../engine/node.ts';
import { mul, sub, sum } from '../../kernels/index.ts';
import { NES2NET_LA, type Nes2NetConfig, nes2netParams } from '../../models/nes2net/config.ts';
import { countParams } from '../../models/param-spec.ts';
import { Nes2Net } from '../../models/nes2net/nes2net.ts';
import type { Counter, SourceValue } from '../../nn/index.ts';
import { useEngine } from '../helpers/engine.ts';
import { canonical, expectNear, hashUniform, hostValues, nes2netConfig, readGolden, upload, type Golden, type GoldenCase } from './nes2net-helpers.ts';

useEngine();

const X: Nes2NetConfig = { ...NES2NET_LA, la: null };

/** Runs one golden case: forward with stages, loss = Σ logits·R, backward; compares everything. */
async function checkCase(g: Golden, mode: 'eval' | 'train'): Promise<void> {
  const c: GoldenCase = g.cases[mode];
  const training = mode === 'train';
  const model = Nes2Net.fromConfig(nes2netConfig(g, training), hostValues('nes2net', g));
  const x = requiresGrad(upload(g.inputs[0]));
  try {
    const out = tidy(() => {
      const o = model.forward(x, { training, stages: true });
      backward(sum(mul(o.logits, upload(c.R))));
      return o;
    });
    const s = out.stages!;
    const tol = (t: Tensor, key: string, rtol = 1e-4) => expectNear(t, c.stages[key], rtol, 1e-5, `${mode} ${key}`);
    for (let i = 0; i < s.blocks.length; i++) await tol(s.blocks[i], `block${i}`);
    await tol(s.groups, 'groups');
    if (s.la) await tol(s.la, 'la');
    await tol(s.pooled, 'pooled');
    await tol(out.logits, 'logits');
    for (const [k, e] of Object.entries(c.grads)) {
      const p = model.namedTensors('nes2net.').get(canonical('nes2net', k))!;
      expect(p.grad, `gradient of ${k}`).not.toBeNull();
      await expectNear(p.grad!, e, 1e-3, 1e-3, `${mode} d/d${k}`, 1e-6);
    }
    await expectNear(x.grad!, c.input_grads[0], 1e-3, 1e-3, `${mode} d/dx`);
    if (training) {
      for (const [k, e] of Object.entries(c.buffers!)) await expectNear(model.namedTensors('nes2net.').get(canonical('nes2net', k))!, e, 1e-4, 1e-5, `running stat ${k}`);
      const counts = model.namedBuffers('nes2net.');
      for (const [k, n] of Object.entries(c.num_batches_tracked!)) expect((counts.get(canonical('nes2net', k)) as Counter).value, k).toBe(n);
    }
    for (const t of [out.logits, ...s.blocks, s.groups, s.pooled, ...(s.la ? [s.la] : [])]) t.dispose();
  } finally {
    x.grad?.dispose();
    x.dispose();
    model.dispose();
  }
}

describe('Nes2Net-LA parity with the PyTorch reference', () => {
  for (const name of ['tiny-a', 'tiny-b']) {
    const g = readGolden(name);
    it(`${name}: eval mode (running statistics): stages, logits ≤ 1e-4, gradients ≤ 1e-3`, () => checkCase(g, 'eval'));
    it(`${name}: train mode, dropout 0: batch statistics, running-stat updates, gradients`, () => checkCase(g, 'train'));
  }
  it('tiny-a Nes2Net-X (no LA): eval mode', () => checkCase(readGolden('tiny-a-x'), 'eval'));

  it('full-size back-end (D 1024, [8, 8]) on random features matches, 578,599 parameters', async () => {
    const g = readGolden<{ config: Record<string, number>; keys: string[]; stages: Record<string, { shape: number[]; data: number[] }> }>('full');
    const { B, T, D } = g.config;
    const cfg: Nes2NetConfig = { ...NES2NET_LA };
    const specs = new Map(Nes2Net.specs(cfg).map((s) => [s.name, s]));
    const values = new Map<string, SourceValue>();
    g.keys.forEach((key, index) => {
      const name = canonical('nes2net', key);
      const spec = specs.get(name)!;
      if (key.endsWith('num_batches_tracked')) return;
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const u = hashUniform(n, index);
      const fanIn = spec.shape.length > 1 ? n / spec.shape[0] : n;
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        if (key.endsWith('running_var')) v[i] = 1 + 0.5 * u[i];
        else if (key.includes('weighted_sum')) v[i] = 0.3 + 0.1 * u[i];
        else if (key.includes('bn') && key.endsWith('weight')) v[i] = 1 + 0.2 * u[i];
        else if (key.includes('bn')) v[i] = 0.2 * u[i];
        else v[i] = u[i] * Math.sqrt(3 / fanIn);
      }
      values.set(name, v);
    });
    const model = Nes2Net.fromConfig(cfg, values);
    expect(model.parameterCount()).toBe(578_599);
    const xs = hashUniform(B * T * D, 9999).map((v) => Math.fround(v * Math.sqrt(3)));
    const x = tensor(Float32Array.from(xs), [B, T, D]);
    const out = model.forward(x, { stages: true });
    const s = out.stages!;
    await expectNear(s.blocks[0], g.stages.block0, 1e-4, 1e-5, 'block0');
    await expectNear(s.blocks[6], g.stages.block6, 1e-4, 1e-5, 'block6');
    await expectNear(s.la!, g.stages.la, 1e-4, 1e-5, 'la');
    await expectNear(s.pooled, g.stages.pooled, 1e-4, 1e-5, 'pooled');
    await expectNear(out.logits, g.stages.logits, 1e-4, 1e-6, 'logits');
    model.dispose();
  });
});

describe('Nes2Net invariants', () => {
  it('parameter counts: 512,039 (X), 578,599 (LA); the general formula of §8 for tiny-A / tiny-B', () => {
    expect(countParams(nes2netParams(X))).toBe(512_039);
    expect(countParams(nes2netParams(NES2NET_LA))).toBe(578_599);
    const la = Nes2Net.fromConfig(NES2NET_LA, 1);
    const x = Nes2Net.fromConfig(X, 1);
    try {
      expect(la.parameterCount()).toBe(578_599);
      expect(x.parameterCount()).toBe(512_039);
      expect([...la.trainableParameters().values()].reduce((a, t) => a + t.size, 0)).toBe(578_599);
    } finally {
      la.dispose();
      x.dispose();
    }
    expect(countParams(nes2netParams({ ...NES2NET_LA, inputDim: 64 }))).toBe(3_469);
    expect(countParams(nes2netParams({ ...NES2NET_LA, inputDim: 64, nesRatio: [4, 4] }))).toBe(5_465);
  });

  it('LA output minus its input is constant over time; Bottle2neck outputs keep [B, C, T]; any T ≥ 1 in eval', async () => {
    const cfg: Nes2NetConfig = { ...NES2NET_LA, inputDim: 64, nesRatio: [4, 4] };
    const model = Nes2Net.fromConfig(cfg, 7);
    for (const T of [1, 5]) {
      const x = tensor(Float32Array.from({ length: 2 * T * 64 }, (_, i) => Math.sin(i * 0.37) * 2), [2, T, 64]);
      const out = model.forward(x, { stages: true });
      const s = out.stages!;
      for (const b of s.blocks) expect(b.shape).toEqual([2, 16, T]);
      expect(s.groups.shape).toEqual([2, 4, 16, T]);
      expect(out.logits.shape).toEqual([2, 2]);
      const diff = await tidy(() => sub(s.la!, s.groups)).data();
      for (let r = 0; r < diff.length / T; r++) {
        for (let t = 1; t < T; t++) expect(Math.abs(diff[r * T + t] - diff[r * T])).toBeLessThan(1e-5);
      }
      expect(diff.some((v) => Math.abs(v) > 1e-4)).toBe(true); // the attention really adds something
    }
    model.dispose();
  });

  it('train mode: dropout is seeded (same seed, same logits; another seed, other logits) and off in eval', async () => {
    const g = readGolden('tiny-a');
    const cfg = nes2netConfig(g);
    const run = async (opts: { training: boolean; seed?: number }) => {
      const model = Nes2Net.fromConfig(cfg, hostValues('nes2net', g));
      const y = await tidy(() => model.forward(upload(g.inputs[0]), opts).logits).data();
      model.dispose();
      return Array.from(y);
    };
    const a = await run({ training: true, seed: 5 });
    expect(await run({ training: true, seed: 5 })).toEqual(a);
    expect(await run({ training: true, seed: 6 })).not.toEqual(a);
    const e = await run({ training: false, seed: 5 });
    expect(await run({ training: false, seed: 6 })).toEqual(e);
  });

  it('train mode: the LA attention dropout (0.1) alone makes the logits depend on the seed', async () => {
    const g = readGolden('tiny-a');
    const logits = async (laDropout: number, seed: number) => {
      const model = Nes2Net.fromConfig({ ...nes2netConfig(g), dropout: 0, la: { windowSize: 3, heads: 1, dropout: laDropout } }, hostValues('nes2net', g));
      const y = await tidy(() => model.forward(upload(g.inputs[0]), { training: true, seed }).logits).data();
      model.dispose();
      return Array.from(y);
    };
    expect(await logits(0, 5)).toEqual(await logits(0, 6)); // Bottle2neck dropout off: nothing else is random
    const a = await logits(0.1, 5);
    expect(await logits(0.1, 5)).toEqual(a);
    expect(await logits(0.1, 6)).not.toEqual(a);
  });

  it('rejects wrong feature widths and configurations with clear errors', () => {
    const model = Nes2Net.fromConfig({ ...NES2NET_LA, inputDim: 64 }, 1);
    expect(() => model.forward(tensor(new Float32Array(2 * 3 * 32), [2, 3, 32]))).toThrow(/features must be \[B, T, 64\]/);
    model.dispose();
    expect(() => Nes2Net.fromConfig({ ...NES2NET_LA, inputDim: 60 })).toThrow(/do not divide evenly/);
    expect(() => Nes2Net.fromConfig({ ...NES2NET_LA, la: { windowSize: 3, heads: 2, dropout: 0.1 } })).toThrow(/heads/);
  });
});
