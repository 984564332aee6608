// XLS-R model behaviour beyond parity: frame geometry, padding, train mode (seeded dropout, layerdrop),
// activation checkpointing, freezing, feature_grad_mult, normalisation, errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backward, getEngine, initEngine, noGrad, randn, requiresGrad, tensor, tidy, type Tensor } from '../../engine/node.ts';
import { mul, sum } from '../../kernels/index.ts';
import { rngHash, rngUniform } from '../../kernels/rng.ts';
import { countParams } from '../../models/param-spec.ts';
import { XLSR_TINY, xlsrParams } from '../../models/xlsr/config.ts';
import {
  blockLengths,
  frameCount,
  normalizeRows,
  receptiveField,
  XLSR_PRESETS,
  xlsrPreset,
  XlsrModel,
  type XlsrConfig,
} from '../../models/xlsr/index.ts';
import { frames, relErr } from './xlsr-helpers.ts';

beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
});

const STANDARD = XLSR_PRESETS['xlsr-300m'].convLayers;

describe('frame geometry (spec model-xlsr.md §2)', () => {
  it('T = ⌊(L − 400)/320⌋ + 1 for every L ≥ 400, 0 below', () => {
    expect(receptiveField(STANDARD)).toBe(400);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3_000_000 }), (L) => {
        expect(frameCount(L, STANDARD)).toBe(L < 400 ? 0 : Math.floor((L - 400) / 320) + 1);
      }),
      { numRuns: 2000 },
    );
    for (let L = 380; L < 2000; L++) expect(frameCount(L, STANDARD)).toBe(L < 400 ? 0 : Math.floor((L - 400) / 320) + 1);
  });

  it('the table of the spec, and the per-block lengths of 64,600 samples', () => {
    const table: [number, number][] = [[16000, 49], [32000, 99], [48000, 149], [64000, 199], [64600, 201], [80000, 249], [160000, 499], [4000, 12], [3600, 11], [400, 1], [399, 0]];
    for (const [L, T] of table) expect(frameCount(L, STANDARD), `L=${L}`).toBe(T);
    expect(blockLengths(64600, STANDARD)).toEqual([12919, 6459, 3229, 1614, 806, 403, 201]);
    expect(blockLengths(4000, STANDARD)).toEqual([799, 399, 199, 99, 49, 24, 12]);
  });
});

describe('presets', () => {
  it('xlsr-300m / xlsr-1b / xlsr-2b / tiny: sizes of spec model-xlsr.md §1, §9 and backbone parameter counts', () => {
    const shape = (c: XlsrConfig) => [c.layers, c.dModel, c.ffnDim, c.heads, c.posConvKernel, c.posConvGroups, c.convLayers[0][0]];
    expect(Object.keys(XLSR_PRESETS)).toEqual(['xlsr-300m', 'xlsr-1b', 'xlsr-2b', 'tiny']);
    expect(shape(xlsrPreset('xlsr-300m'))).toEqual([24, 1024, 4096, 16, 128, 16, 512]);
    expect(shape(xlsrPreset('xlsr-1b'))).toEqual([48, 1280, 5120, 16, 128, 16, 512]);
    expect(shape(xlsrPreset('xlsr-2b'))).toEqual([48, 1920, 7680, 16, 128, 16, 512]);
    expect(shape(xlsrPreset('tiny'))).toEqual([2, 64, 128, 4, 16, 4, 32]);
    for (const name of Object.keys(XLSR_PRESETS)) {
      const c = xlsrPreset(name);
      // layer-norm extractor with biases, pre-LN, no regularisation unless a checkpoint or the caller sets it
      expect(c, name).toMatchObject({ convBias: true, layerNormEps: 1e-5, dropout: 0, attentionDropout: 0, layerdrop: 0, featureGradMult: 1 });
      expect(c.convLayers.map(([, k, s]) => [k, s]), name).toEqual([[10, 5], [3, 2], [3, 2], [3, 2], [3, 2], [2, 2], [2, 2]]);
    }
    const count = (name: string) => countParams(xlsrParams(xlsrPreset(name)));
    expect(count('xlsr-300m')).toBe(315_437_696);
    expect(count('xlsr-1b')).toBe(962_496_128);
    expect(count('xlsr-2b')).toBe(2_159_257_728);
    expect(count('tiny')).toBe(103_088);
    expect(() => xlsrPreset('xlsr-600m')).toThrow(/unknown XLS-R preset 'xlsr-600m' \(known: xlsr-300m, xlsr-1b, xlsr-2b, tiny\)/);
    // a copy: changing it does not change the preset
    xlsrPreset('tiny').layers = 7;
    expect(xlsrPreset('tiny').layers).toBe(2);
  });
});

function tinyModel(over: Partial<XlsrConfig> = {}, seed = 3): XlsrModel {
  return XlsrModel.fromConfig({ ...XLSR_TINY, ...over }, seed).setFrozen('all');
}

async function grads(m: XlsrModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, t] of m.namedParameters({ prefix: 'xlsr.' })) {
    if (t.grad) {
      out.set(n, (await t.grad.data()) as Float32Array);
      t.grad.dispose();
      t.grad = null;
    }
  }
  return out;
}

describe('XLS-R model (tiny, random weights)', () => {
  let m: XlsrModel;
  beforeAll(() => {
    m = tinyModel();
  });
  afterAll(() => m.dispose());

  it('a padded batch equals one-by-one on the valid frames (x and every layer)', async () => {
    const lengths = [4000, 3000, 2500];
    const rows = lengths.map((n, i) => randn([1, n], 10 + i, 0.3));
    const host = await Promise.all(rows.map((r) => r.data()));
    const batch = new Float32Array(3 * 4000);
    host.forEach((h, b) => batch.set(h, b * 4000));
    const together = noGrad(() => tidy(() => m.forward(tensor(batch, [3, 4000]), { lengths, outputLayers: true })));
    expect(together.frameLengths).toEqual([12, 9, 7]);
    const x = await together.x.data();
    const l0 = await together.layers![0].data();
    for (let b = 0; b < 3; b++) {
      const alone = noGrad(() => tidy(() => m.forward(rows[b], { outputLayers: true })));
      const T = together.frameLengths[b];
      expect(alone.x.shape).toEqual([1, T, 64]);
      expect(relErr(frames(x, together.x.shape, b, T), await alone.x.data())).toBeLessThan(1e-5);
      expect(relErr(frames(l0, together.x.shape, b, T), await alone.layers![0].data())).toBeLessThan(1e-5);
      for (const t of [alone.x, ...alone.layers!, rows[b]]) t.dispose();
    }
    for (const t of [together.x, ...together.layers!]) t.dispose();
  });

  it('rejects inputs shorter than the receptive field and bad lengths, naming the problem', () => {
    const short = tensor(new Float32Array(399), [1, 399]);
    expect(() => m.forward(short)).toThrow(/399 samples is shorter than the 400-sample receptive field/);
    const ok = tensor(new Float32Array(800), [1, 800]);
    expect(() => m.forward(ok, { lengths: [900] })).toThrow(/length 900/);
    expect(() => m.forward(ok, { lengths: [800, 800] })).toThrow(/2 lengths given for a batch of 1/);
    expect(() => m.forward(tensor(new Float32Array(800), [800]))).toThrow(/\[batch, samples\]/);
    short.dispose();
    ok.dispose();
  });

  it('normalisation: zero mean, unit variance over the valid samples, padding stays 0; off by default', async () => {
    const raw = new Float32Array(2 * 1000);
    for (let i = 0; i < 2000; i++) raw[i] = 0.5 + Math.sin(i * 0.37) * (i < 1000 ? 2 : 0.1);
    raw.fill(0, 1000 + 600);
    const y = await noGrad(() => normalizeRows(tensor(raw, [2, 1000]), [1000, 600])).data();
    for (const [b, n] of [[0, 1000], [1, 600]]) {
      const x = Array.from(raw.subarray(b * 1000, b * 1000 + n));
      const mean = x.reduce((a, c) => a + c, 0) / n;
      const vr = x.reduce((a, c) => a + (c - mean) ** 2, 0) / n; // biased, eps 1e-5 (spec model-xlsr.md §1.2)
      const want = x.map((c) => (c - mean) / Math.sqrt(vr + 1e-5));
      expect(relErr(y.subarray(b * 1000, b * 1000 + n), want)).toBeLessThan(1e-5);
    }
    expect(Array.from(y.subarray(1600)).every((v) => v === 0)).toBe(true);
    const wav = tensor(raw.subarray(0, 1000), [1, 1000]);
    const [plain, normed, scaled] = noGrad(() => [m.forward(wav).x, m.forward(wav, { normalize: true }).x, m.forward(tensor(raw.subarray(0, 1000).map((v) => 3 * v - 1), [1, 1000]), { normalize: true }).x]);
    expect(relErr(await plain.data(), await normed.data())).toBeGreaterThan(1e-2);
    // An affine change of the waveform is undone by the normalisation.
    expect(relErr(await scaled.data(), await normed.data())).toBeLessThan(1e-3);
  });
});

describe('training mode', () => {
  const regularised: Partial<XlsrConfig> = { dropout: 0.1, attentionDropout: 0.1, activationDropout: 0.1, dropoutInput: 0.1, layerdrop: 0 };
  const wavOf = () => randn([2, 3600], 77, 0.3);

  it('dropout is seeded: same (seed, step) → same output; another step → another; eval is deterministic and differs', async () => {
    const m = tinyModel(regularised);
    const wav = wavOf();
    const run = (o: object) => noGrad(() => tidy(() => m.forward(wav, o).x));
    const a = await run({ training: true, seed: 5, step: 1 }).data();
    const b = await run({ training: true, seed: 5, step: 1 }).data();
    const c = await run({ training: true, seed: 5, step: 2 }).data();
    const e = await run({}).data();
    expect(relErr(a, b)).toBe(0);
    expect(relErr(a, c)).toBeGreaterThan(1e-3);
    expect(relErr(a, e)).toBeGreaterThan(1e-3);
    m.dispose();
    wav.dispose();
  });

  it('layerdrop: a skipped layer is the identity (seed chosen so layer 0 is skipped and layer 1 runs)', async () => {
    const p = 0.5;
    const skipped = (seed: number, l: number) => rngUniform(rngHash(seed, 0, l, 0x6c647270)) < p;
    let seed = 0;
    while (!(skipped(seed, 0) && !skipped(seed, 1))) seed++;
    const m = tinyModel({ layerdrop: p });
    // The same weights with only layer 1, as a 1-layer model in eval mode.
    const one = new Map<string, Tensor>();
    for (const [n, t] of m.namedParameters({ prefix: 'xlsr.' })) {
      if (n.startsWith('xlsr.layers.0.')) continue;
      one.set(n.replace('xlsr.layers.1.', 'xlsr.layers.0.'), t);
    }
    const m1 = XlsrModel.fromConfig({ ...m.config, layers: 1 }, one);
    const wav = wavOf();
    const train = noGrad(() => m.forward(wav, { training: true, seed, outputLayers: true }));
    const ref = noGrad(() => m1.forward(wav, { outputLayers: true }));
    expect(relErr(await train.x.data(), await ref.x.data())).toBeLessThan(1e-6);
    expect(relErr(await train.layers![1].data(), await ref.layers![0].data())).toBeLessThan(1e-6);
    const evalOut = noGrad(() => m.forward(wav).x);
    expect(relErr(await evalOut.data(), await ref.x.data())).toBeGreaterThan(1e-3); // eval runs both layers
    m.dispose();
    wav.dispose();
  });

  it('activation checkpointing gives the same gradients as keeping activations (train mode, dropouts on)', async () => {
    const m = tinyModel({ ...regularised, layers: 3 });
    m.setFrozen('none');
    const wav = requiresGrad(wavOf());
    const R = randn([2, 11, 64], 9);
    const step = (checkpoint: boolean) =>
      tidy(() => {
        const { x } = m.forward(wav, { training: true, seed: 11, step: 3, checkpoint, lengths: [3600, 3000] });
        backward(sum(mul(x, R)));
      });
    step(false);
    const plain = await grads(m);
    const dxPlain = await wav.grad!.data();
    wav.grad!.dispose();
    wav.grad = null;
    step(true);
    const ckpt = await grads(m);
    expect(ckpt.size).toBe(plain.size);
    expect(plain.size).toBe(m.namedParameters().size);
    for (const [n, gp] of plain) expect(relErr(ckpt.get(n)!, gp), n).toBeLessThan(1e-6);
    expect(relErr(await wav.grad!.data(), dxPlain)).toBeLessThan(1e-6);
    m.dispose();
  });

  it('checkpointing keeps less memory alive between forward and backward', async () => {
    const m = tinyModel({ layers: 4, ffnDim: 512 });
    m.setFrozen('feature-encoder'); // the CNN is not recorded: what is held is the transformer's
    const wav = randn([2, 16000], 1, 0.3);
    const e = getEngine();
    const held = async (checkpoint: boolean) => {
      await e.sync();
      const live0 = e.memory().liveBytes;
      const x = tidy(() => m.forward(wav, { checkpoint }).x);
      const bytes = e.memory().liveBytes - live0;
      tidy(() => backward(sum(x)));
      x.dispose();
      return { bytes, grads: await grads(m) };
    };
    const plain = await held(false);
    const ckpt = await held(true);
    expect(ckpt.bytes).toBeLessThan(plain.bytes * 0.5);
    for (const [n, gp] of plain.grads) expect(relErr(ckpt.grads.get(n)!, gp), n).toBeLessThan(1e-6);
    m.dispose();
    wav.dispose();
  });

  it('freezing: the front-end, the conv blocks, or the lower N layers get no gradient', async () => {
    const m = tinyModel();
    const wav = wavOf();
    const names = async (spec: Parameters<XlsrModel['setFrozen']>[0]) => {
      m.setFrozen(spec);
      tidy(() => {
        const { x } = m.forward(wav, { training: true });
        if (x.requiresGrad) backward(sum(x));
      });
      return [...(await grads(m)).keys()];
    };
    expect(await names('all')).toEqual([]);
    const fe = await names('feature-encoder');
    expect(fe.some((n) => n.startsWith('xlsr.conv.'))).toBe(false);
    expect(fe).toContain('xlsr.proj.weight');
    const low = await names(1);
    expect(low.every((n) => n.startsWith('xlsr.layers.1.') || n.startsWith('xlsr.final_norm.'))).toBe(true);
    expect(low).toHaveLength(18);
    expect(await names('none')).toHaveLength(m.namedParameters().size);
    m.dispose();
    wav.dispose();
  });

  it('feature_grad_mult scales the gradient leaving the conv blocks (0 freezes them)', async () => {
    const run = async (mult: number) => {
      const m = tinyModel({ featureGradMult: mult });
      m.setFrozen('none');
      const wav = wavOf();
      tidy(() => backward(sum(m.forward(wav).x)));
      const g = await grads(m);
      m.dispose();
      wav.dispose();
      return g;
    };
    const full = await run(1);
    const tenth = await run(0.1);
    const none = await run(0);
    expect(relErr(tenth.get('xlsr.conv.3.weight')!.map((v) => v * 10), full.get('xlsr.conv.3.weight')!)).toBeLessThan(1e-5);
    expect(relErr(tenth.get('xlsr.proj.weight')!, full.get('xlsr.proj.weight')!)).toBeLessThan(1e-6);
    expect([...none.keys()].some((n) => n.startsWith('xlsr.conv.'))).toBe(false);
    expect(none.has('xlsr.proj.weight')).toBe(true);
  });
});
