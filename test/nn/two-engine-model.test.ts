// A whole model on a chosen engine (issue 11): the same seeded tiny Detector (XLS-R tiny + Nes2Net-LA) built on
// two SwiftShader engines next to the current one gives bit-identical eval outputs and training steps, every
// tensor stays on its model's engine, the current engine does no work, and an input of the other engine fails
// naming the op and both engines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backward, engineOf, getEngine, openEngine, selfCheck, tensor, tidy, zeros, type Engine, type Tensor } from '../../engine/node.ts';
import { findSwiftShaderIcd } from '../../engine/device.node.ts';
import { crossEntropy } from '../../kernels/index.ts';
import { Detector } from '../../models/detector.ts';
import { standinTracer } from '../../models/demo.ts';
import { encodeModel } from '../../models/export.ts';
import { bufferSource } from '../../models/io/index.ts';
import { NES2NET_TINY_A } from '../../models/nes2net/config.ts';
import { XLSR_TINY } from '../../models/xlsr/config.ts';
import { XlsrModel } from '../../models/xlsr/model.ts';
import { type Module } from '../../nn/index.ts';
import { Adam } from '../../nn/optim.ts';
import { useEngine } from '../helpers/engine.ts';

useEngine();

const CONFIG = { arch: 'xlsr-nes2net', xlsr: XLSR_TINY, nes2net: NES2NET_TINY_A } as const;
const B = 2;
const L = 6400;
const WAV = Float32Array.from({ length: B * L }, (_, i) => 0.5 * Math.sin(i * 0.013) + 0.1 * Math.sin(i * 0.31 + (i % 7)));

const onEngine = (ts: Iterable<Tensor>, e: Engine) => [...ts].every((t) => engineOf('test', [t]) === e);

/** Eval logits and features, and XLS-R features of padded, normalised rows (the mask paths), of `m` on `e`. */
async function evalRun(m: Detector, e: Engine): Promise<number[][]> {
  const wav = tensor(WAV, [B, L], 'f32', e);
  try {
    m.eval();
    const out = m.forward(wav);
    const padded = m.xlsr.forward(wav, { lengths: [L, 4000], normalize: true });
    expect(onEngine([out.logits, out.features, padded.x], e)).toBe(true);
    const r = [await out.logits.toArray(), await out.features.toArray(), await padded.x.toArray()];
    for (const t of [out.logits, out.features, padded.x]) t.dispose();
    return r;
  } finally {
    wav.dispose();
  }
}

/** One training step (train-mode forward with dropout seeds, cross-entropy, backward, Adam); the state after. */
async function trainStep(m: Detector, e: Engine): Promise<{ loss: number; state: number[][] }> {
  const opt = new Adam(m.trainableParameters(), { lr: 1e-3 });
  const wav = tensor(WAV, [B, L], 'f32', e);
  try {
    m.train();
    const loss = tidy(() => {
      const l = crossEntropy(m.forward(wav, { seed: 5, step: 1 }).logits, [0, 1]);
      backward(l);
      return l;
    });
    const grads = [...m.trainableParameters().values()].map((p) => p.grad).filter((g): g is Tensor => g !== null);
    expect(grads.length).toBe(m.trainableParameters().size);
    expect(onEngine(grads, e)).toBe(true);
    opt.update();
    opt.zeroGrad();
    expect(onEngine(m.namedTensors().values(), e)).toBe(true);
    const state = await m.stateDict();
    const value = await loss.item();
    loss.dispose();
    return { loss: value, state: state.map((s) => Array.from(s.data, Number)) };
  } finally {
    wav.dispose();
    opt.dispose();
    m.eval();
  }
}

const hasSwiftShader = findSwiftShaderIcd() !== null;

describe.skipIf(!hasSwiftShader)('a whole model on a chosen engine', () => {
  let a: Engine;
  let b: Engine;
  let ma: Detector;
  let mb: Detector;
  beforeAll(async () => {
    a = await openEngine('swiftshader', {});
    b = await openEngine('swiftshader', {});
    ma = Detector.fromConfig(CONFIG, 7, { engine: a });
    mb = Detector.fromConfig(CONFIG, 7, { engine: b });
  });
  afterAll(() => {
    ma?.dispose();
    mb?.dispose();
    a?.destroy();
    b?.destroy();
  });

  it('builds every parameter and buffer on the chosen engine', () => {
    const model: Module = mb;
    expect(model.engine).toBe(b);
    expect(ma.engine).toBe(a);
    expect(onEngine(ma.namedTensors().values(), a)).toBe(true);
    expect(onEngine(mb.namedTensors().values(), b)).toBe(true);
  });

  it('self-checks an engine that is not the current one', async () => {
    const current = getEngine();
    const before = current.stats.dispatches;
    const r = await selfCheck(b);
    expect(r.ok).toBe(true);
    expect(current.stats.dispatches).toBe(before);
  });

  it('runs eval and a training step side by side with bit-identical results, leaving the current engine idle', async () => {
    const current = getEngine();
    const before = { ...current.stats };
    const live = current.memory().liveBytes;
    const [ea, eb] = await Promise.all([evalRun(ma, a), evalRun(mb, b)]);
    expect(ea).toEqual(eb);
    const [ta, tb] = await Promise.all([trainStep(ma, a), trainStep(mb, b)]);
    expect(Number.isFinite(ta.loss)).toBe(true);
    expect(ta.loss).toBe(tb.loss);
    expect(ta.state).toEqual(tb.state);
    // The step moved the weights: the next eval differs from the first one, equally on both engines.
    const [ea2, eb2] = await Promise.all([evalRun(ma, a), evalRun(mb, b)]);
    expect(ea2).toEqual(eb2);
    expect(ea2[0]).not.toEqual(ea[0]);
    expect(current.stats).toEqual(before);
    expect(current.memory().liveBytes).toBe(live);
  });

  it('loads weights onto a chosen engine, and runs a tracing model there', async () => {
    const bytes = await encodeModel(ma);
    const { detector } = await Detector.open(bufferSource(bytes, 'a.safetensors'), { engine: b });
    try {
      expect(onEngine(detector.namedTensors().values(), b)).toBe(true);
      expect(await evalRun(detector, b)).toEqual(await evalRun(ma, a));
    } finally {
      detector.dispose();
    }
    const [ra, rb] = [standinTracer(3, { engine: a }), standinTracer(3, { engine: b })];
    try {
      const run = async (m: typeof ra, e: Engine) => {
        const wav = tensor(WAV, [B, L], 'f32', e);
        const y = m.forward(wav);
        expect(engineOf('test', [y])).toBe(e);
        const v = await y.toArray();
        y.dispose();
        wav.dispose();
        return v;
      };
      expect(await run(ra, a)).toEqual(await run(rb, b));
    } finally {
      ra.dispose();
      rb.dispose();
    }
  });

  it('refuses an input of another engine, naming the op and both engines', () => {
    const wavA = tensor(WAV, [B, L], 'f32', a);
    try {
      expect(() => mb.forward(wavA)).toThrow(new RegExp(`^conv1d: tensors of two engines in one op: .* is on ${escape(a.label)}, .* is on ${escape(b.label)}`));
    } finally {
      wavA.dispose();
    }
  });

  it('refuses GPU tensors of another engine as parameter values, naming the tensor', () => {
    const made: Tensor[] = [];
    const source = { value: (_path: string, shape: readonly number[]) => (made.push(zeros(shape, 'f32', a)), made[made.length - 1]) };
    try {
      expect(() => XlsrModel.fromConfig(XLSR_TINY, source, { engine: b })).toThrow(/^xlsr\.conv\.0\.weight: tensor is on swiftshader#\d+ .*, the model is being built on swiftshader#\d+/);
    } finally {
      for (const t of made) t.dispose();
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
