// Every model on the Module contract (tiny configurations): module names and shapes are exactly the canonical
// tensor lists the weight files use, and a state dict taken after a train-mode step (running statistics and
// num_batches_tracked moved) loads into a freshly built model that then gives bit-identical outputs.
import { describe, expect, it } from 'vitest';
import { noGrad, randn, tidy, type Tensor } from '../../engine/node.ts';
import { modelParams, type ModelConfig } from '../../models/config.ts';
import { Detector } from '../../models/detector.ts';
import { NES2NET_TINY_A } from '../../models/nes2net/config.ts';
import { XLSR_TINY } from '../../models/xlsr/config.ts';
import { Nes2Net } from '../../models/nes2net/nes2net.ts';
import { nes2netParams, type Nes2NetConfig } from '../../models/nes2net/config.ts';
import { parameterGroups } from '../../models/spoof-model.ts';
import { tracerParams, type TracerConfig } from '../../models/tracer/config.ts';
import { ReferenceTracer } from '../../models/tracer/reference.ts';
import { TracingModel } from '../../models/tracer/tracing-model.ts';
import { XlsrModel, xlsrParams } from '../../models/xlsr/index.ts';
import { Counter, type Module } from '../../nn/index.ts';
import { Adam } from '../../nn/optim.ts';
import { useEngine } from '../helpers/engine.ts';

useEngine();

const HEAD: TracerConfig = { heads: 4, hidden: 16, classes: 5 };
const X_TINY: Nes2NetConfig = { ...NES2NET_TINY_A, la: null };
const DETECT: ModelConfig = { arch: 'xlsr-nes2net', xlsr: XLSR_TINY, nes2net: NES2NET_TINY_A };
const TRACE_REF: ModelConfig = { arch: 'xlsr-tracer', xlsr: XLSR_TINY, tracer: HEAD };
const TRACE_NES: ModelConfig = { arch: 'xlsr-nes2net', xlsr: XLSR_TINY, nes2net: { ...NES2NET_TINY_A, nOut: 5 } };

async function host(t: Tensor): Promise<Float32Array> {
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

interface Case<M extends Module> {
  name: string;
  /** Canonical prefix of a part used on its own ('' for whole models). */
  prefix: string;
  specs: { name: string; shape: number[] }[];
  make: (seed: number) => M;
  /** Eval output after `step` (a train-mode forward, which moves BatchNorm running statistics). */
  run: (m: M, training: boolean) => Tensor;
}

const wav = () => randn([2, 3600], 21, 0.3); // T = 11
const feats = () => randn([2, 9, 64], 5);

const cases: Case<Module>[] = [
  {
    name: 'XLS-R',
    prefix: 'xlsr.',
    specs: xlsrParams(XLSR_TINY),
    make: (s) => XlsrModel.fromConfig(XLSR_TINY, s),
    run: (m, training) => tidy(() => (m as XlsrModel).forward(wav(), { training, seed: 1 }).x),
  },
  {
    name: 'Nes2Net-LA',
    prefix: 'nes2net.',
    specs: nes2netParams(NES2NET_TINY_A),
    make: (s) => Nes2Net.fromConfig({ ...NES2NET_TINY_A, dropout: 0, la: { ...NES2NET_TINY_A.la!, dropout: 0 } }, s),
    run: (m, training) => tidy(() => (m as Nes2Net).forward(feats(), { training }).logits),
  },
  {
    name: 'Nes2Net-X',
    prefix: 'nes2net.',
    specs: nes2netParams(X_TINY),
    make: (s) => Nes2Net.fromConfig({ ...X_TINY, dropout: 0 }, s),
    run: (m, training) => tidy(() => (m as Nes2Net).forward(feats(), { training }).logits),
  },
  {
    name: 'reference tracer',
    prefix: 'tracer.',
    specs: tracerParams(HEAD, 64),
    make: (s) => ReferenceTracer.fromConfig(HEAD, 64, s),
    run: (m) => tidy(() => (m as ReferenceTracer).forward([feats(), feats()]).logits),
  },
  {
    name: 'Detector',
    prefix: '',
    specs: modelParams(DETECT),
    make: (s) => Detector.fromConfig(DETECT, s),
    run: (m, training) => tidy(() => (m as Detector).forward(wav(), { training }).logits),
  },
  {
    name: 'TracingModel (reference head)',
    prefix: '',
    specs: modelParams(TRACE_REF),
    make: (s) => TracingModel.fromConfig(TRACE_REF, s),
    run: (m, training) => tidy(() => (m as TracingModel).forward(wav(), { training })),
  },
  {
    name: 'TracingModel (Nes2Net-LA head)',
    prefix: '',
    specs: modelParams(TRACE_NES),
    make: (s) => TracingModel.fromConfig(TRACE_NES, s),
    run: (m, training) => tidy(() => (m as TracingModel).forward(wav(), { training })),
  },
];

describe('models on the Module contract', () => {
  for (const c of cases) {
    it(`${c.name}: state names and shapes are the canonical list, in order`, async () => {
      const m = c.make(1);
      try {
        const sd = await m.stateDict(c.prefix);
        const floats = sd.filter((e) => e.dtype === 'F32');
        const counters = sd.filter((e) => e.dtype === 'I64');
        const specFloats = c.specs.filter((s) => !s.name.endsWith('num_batches_tracked'));
        expect(floats.map((e) => [e.name, e.shape])).toEqual(specFloats.map((s) => [s.name, s.shape]));
        expect(counters.map((e) => e.name).sort()).toEqual(c.specs.filter((s) => s.name.endsWith('num_batches_tracked')).map((s) => s.name).sort());
      } finally {
        m.dispose();
      }
    });

    it(`${c.name}: state dict after a train-mode step → fresh model → bit-identical outputs and counters`, async () => {
      const a = c.make(1);
      const b = c.make(2);
      try {
        noGrad(() => c.run(a, true)).dispose(); // moves running statistics, counts one batch per BatchNorm
        const sd = await a.stateDict(c.prefix);
        const counts = sd.filter((e) => e.dtype === 'I64');
        for (const e of counts) expect(e.data[0], e.name).toBe(1n);
        expect(b.loadStateDict(sd, { prefix: c.prefix })).toEqual({ missing: [], unexpected: [], wrongShape: [] });
        expect(await b.stateDict(c.prefix)).toEqual(sd);
        for (const [name, buf] of b.namedBuffers(c.prefix)) if (buf instanceof Counter) expect(buf.value, name).toBe(1);
        const ya = await host(noGrad(() => c.run(a, false)));
        const yb = await host(noGrad(() => c.run(b, false)));
        expect(yb).toEqual(ya);
      } finally {
        a.dispose();
        b.dispose();
      }
    });
  }

  it('the same seed builds the same model; another seed another one', async () => {
    const [a, b, c] = [Detector.fromConfig(DETECT, 4), Detector.fromConfig(DETECT, 4), Detector.fromConfig(DETECT, 5)];
    try {
      const sa = await a.stateDict();
      expect(await b.stateDict()).toEqual(sa);
      expect(await c.stateDict()).not.toEqual(sa);
    } finally {
      a.dispose();
      b.dispose();
      c.dispose();
    }
  });
});

describe('parameter groups', () => {
  it('front-end / head × decay / no decay (norms and biases), frozen parameters left out; optimizers take the maps', () => {
    const m = Detector.fromConfig(DETECT, 1);
    try {
      const groups = parameterGroups(m, { noDecayNormBias: true });
      expect(groups.map((g) => g.name)).toEqual(['front-end', 'front-end (no decay)', 'head', 'head (no decay)']);
      const byName = new Map(groups.map((g) => [g.name, [...g.params.keys()]]));
      expect(byName.get('front-end (no decay)')).toContain('xlsr.layers.0.attn_norm.weight');
      expect(byName.get('front-end (no decay)')).toContain('xlsr.proj.bias');
      expect(byName.get('front-end')).toContain('xlsr.pos_conv.weight_g');
      expect(byName.get('head (no decay)')).toEqual(expect.arrayContaining(['nes2net.bn.weight', 'nes2net.blocks.0.bns.0.weight', 'nes2net.fc.bias']));
      expect(byName.get('head')).toEqual(expect.arrayContaining(['nes2net.fc.weight', 'nes2net.la.pos_emb', 'nes2net.blocks.0.weighted_sum.0']));
      const all = groups.flatMap((g) => [...g.params.keys()]);
      expect([...all].sort()).toEqual([...m.trainableParameters().keys()].sort());
      expect(all).toHaveLength(m.namedParameters().size);
      expect(parameterGroups(m, { noDecayNormBias: false }).map((g) => g.name)).toEqual(['front-end', 'head']);

      m.xlsr.setFrozen('all');
      const head = parameterGroups(m, { noDecayNormBias: false });
      expect(head.map((g) => g.name)).toEqual(['head']);
      const opt = new Adam(head[0].params, { lr: 1e-3 });
      opt.zeroGrad();
      m.xlsr.setFrozen(1);
      expect([...m.xlsr.trainableParameters().keys()].every((n) => n.startsWith('layers.1.') || n.startsWith('final_norm.'))).toBe(true);
    } finally {
      m.dispose();
    }
  });
});
