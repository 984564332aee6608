// The whole tracing model (waveform → XLS-R → tracing head) as one object: the reference head sees exactly the raw
// outputs of every XLS-R layer (not the final-LN x, not the pos-conv input), the Nes2Net-LA tracer sees x;
// backward reaches every parameter of both parts; probabilities and the open-set rule; loading an 'xlsr-tracer'
// safetensors. The parts themselves are checked against PyTorch in xlsr-parity and tracer tests.
import { describe, expect, it } from 'vitest';
import { backward, noGrad, randn, tidy, type Tensor } from '../../engine/node.ts';
import { mul, sum } from '../../kernels/index.ts';
import { bufferSource, encodeSafetensors, META_CONFIG } from '../../models/io/index.ts';
import type { HostTensor } from '../../models/io/index.ts';
import { XLSR_TINY } from '../../models/xlsr/config.ts';
import type { ModelConfig } from '../../models/config.ts';
import type { TracerConfig } from '../../models/tracer/config.ts';
import { Nes2Net } from '../../models/nes2net/nes2net.ts';
import { nes2netTracerConfig } from '../../models/tracer/nes2net-tracer.ts';
import { softmaxRow } from '../../models/tracer/open-set.ts';
import { ReferenceTracer } from '../../models/tracer/reference.ts';
import { TracingModel } from '../../models/tracer/tracing-model.ts';
import { XlsrModel } from '../../models/xlsr/index.ts';
import { useEngine } from '../helpers/engine.ts';
import { relErr } from './xlsr-helpers.ts';

useEngine();

const HEAD: TracerConfig = { heads: 4, hidden: 16, classes: 5 };
const xlsr = () => XlsrModel.fromConfig(XLSR_TINY, 3);
const wavOf = () => randn([2, 3600], 21, 0.3); // T = 11

async function host(t: Tensor): Promise<Float32Array> {
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

describe('TracingModel', () => {
  it('reference head: logits = head(raw outputs of all layers); backward reaches every parameter on its path (not the final LayerNorm); open-set predictions', async () => {
    const model = new TracingModel(xlsr(), ReferenceTracer.fromConfig(HEAD, 64, 1));
    const wav = wavOf();
    try {
      expect(model.classes).toBe(5);
      const whole = await host(noGrad(() => model.forward(wav)));
      const parts = noGrad(() => model.xlsr.forward(wav, { outputLayers: true }));
      expect(parts.layers).toHaveLength(2);
      const ref = await host(noGrad(() => tidy(() => (model.head as ReferenceTracer).forward(parts.layers!).logits)));
      expect(relErr(whole, ref)).toBeLessThan(1e-6);
      // Wrong wirings give other logits: the final-LN x repeated, or the pos-conv input prepended.
      const withX = await host(noGrad(() => tidy(() => (model.head as ReferenceTracer).forward([parts.x, parts.x]).logits)));
      expect(relErr(withX, ref)).toBeGreaterThan(1e-3);
      for (const t of [parts.x, ...parts.layers!]) t.dispose();

      const R = randn([2, 5], 4);
      tidy(() => backward(sum(mul(model.forward(wav, { training: true, seed: 1 }), R))));
      expect(model.trainable().length).toBe(model.xlsr.namedParameters().size + 8);
      for (const [name, p] of model.namedParameters()) {
        // The reference head reads raw layer outputs: the final LayerNorm is not on its path.
        if (name.startsWith('xlsr.final_norm.')) {
          expect(p.grad, name).toBeNull();
          continue;
        }
        expect(p.grad, name).not.toBeNull();
        // The XLS-R key biases get no gradient in exact arithmetic (softmax ignores a per-row shift).
        if (!name.endsWith('attn.k.bias')) expect((await p.grad!.data()).some((v) => v !== 0), name).toBe(true);
        p.grad!.dispose();
        p.grad = null;
      }

      // Default τ = 0.5; with random weights the top probability is far below it: "unseen" (label 5).
      const preds = await model.predict(wav);
      expect(preds).toHaveLength(2);
      for (const [r, p] of preds.entries()) {
        expect(p.probs.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
        expect(relErr(p.probs, softmaxRow(whole.subarray(r * 5, r * 5 + 5)))).toBeLessThan(1e-6);
        expect(p).toMatchObject({ threshold: 0.5, unseen: true, predicted: 5 });
      }
      expect((await model.predict(wav, 0)).every((p) => !p.unseen && p.predicted === p.top && p.threshold === 0)).toBe(true);
    } finally {
      wav.dispose();
      model.dispose();
    }
  });

  it('Nes2Net-LA tracer: logits = back-end(final x); train mode (dropout 0) uses BatchNorm batch statistics', async () => {
    const model = new TracingModel(xlsr(), Nes2Net.fromConfig({ ...nes2netTracerConfig(5, 64), dropout: 0, la: { windowSize: 3, heads: 1, dropout: 0 } }, 2));
    const wav = wavOf();
    try {
      const whole = await host(noGrad(() => model.forward(wav)));
      const x = noGrad(() => model.xlsr.forward(wav).x);
      const ref = await host(noGrad(() => (model.head as Nes2Net).forward(x).logits));
      x.dispose();
      expect(whole).toHaveLength(10);
      expect(relErr(whole, ref)).toBeLessThan(1e-6);
      const train = await host(noGrad(() => model.forward(wav, { training: true, seed: 3 })));
      expect(relErr(train, whole)).toBeGreaterThan(1e-3);
    } finally {
      wav.dispose();
      model.dispose();
    }
  });

  it("loads an 'xlsr-tracer' safetensors (XLS-R + reference head) and rejects XLS-R-only weights and width mismatches", async () => {
    const parts = new TracingModel(xlsr(), ReferenceTracer.fromConfig(HEAD, 64, 1));
    const wav = wavOf();
    try {
      const tensors: HostTensor[] = [];
      for (const [name, t] of parts.namedParameters()) {
        tensors.push({ name, dtype: 'F32', shape: [...t.shape], data: (await t.data()) as Float32Array });
      }
      const config: ModelConfig = { arch: 'xlsr-tracer', xlsr: XLSR_TINY, tracer: HEAD };
      const { model, weights } = await TracingModel.open(bufferSource(encodeSafetensors(tensors, { [META_CONFIG]: JSON.stringify(config) }), 'tracer.safetensors'));
      try {
        expect(weights.report.missing).toEqual([]);
        expect(model.head).toBeInstanceOf(ReferenceTracer);
        expect(await host(noGrad(() => model.forward(wav)))).toEqual(await host(noGrad(() => parts.forward(wav))));
      } finally {
        model.dispose();
      }
      const only = encodeSafetensors(tensors.filter((t) => t.name.startsWith('xlsr.')), { [META_CONFIG]: JSON.stringify({ arch: 'xlsr', xlsr: XLSR_TINY }) });
      await expect(TracingModel.open(bufferSource(only, 'xlsr.safetensors'))).rejects.toThrow(/xlsr\.safetensors: holds only XLS-R/);
      const narrow = ReferenceTracer.fromConfig(HEAD, 32, 1);
      const x = xlsr();
      expect(() => new TracingModel(x, narrow)).toThrow(/width 64 does not match the head input 32/);
      x.dispose();
      narrow.dispose();
    } finally {
      wav.dispose();
      parts.dispose();
    }
  });
});
