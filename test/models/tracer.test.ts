// Tracing models: the reference head (MHA over layer-major concatenated layer outputs) against PyTorch, the
// Nes2Net-LA tracer (N-class head) against PyTorch, parameter counts and the open-set rule.
import { describe, expect, it } from 'vitest';
import { backward, requiresGrad, tidy } from '../../engine/node.ts';
import { mul, sum } from '../../kernels/index.ts';
import { countParams } from '../../models/param-spec.ts';
import { tracerParams, TRACER } from '../../models/tracer/config.ts';
import { Nes2Net } from '../../models/nes2net/nes2net.ts';
import { nes2netTracerConfig, predictClasses } from '../../models/tracer/nes2net-tracer.ts';
import { openSetDecisions } from '../../models/tracer/open-set.ts';
import { ReferenceTracer } from '../../models/tracer/reference.ts';
import { useEngine } from '../helpers/engine.ts';
import { canonical, expectNear, hostValues, readGolden, upload } from './nes2net-helpers.ts';
import { expectClose } from '../helpers/close.ts';

useEngine();

describe('reference tracer', () => {
  it('matches PyTorch (nn.MultiheadAttention over 4 layers × 6 frames, SELU head): logits, pooled, probabilities, gradients', async () => {
    const g = readGolden('tracer');
    const c = g.cases.eval;
    const cfg = g.config as Record<string, number>;
    const model = ReferenceTracer.fromConfig({ heads: cfg.heads, hidden: cfg.hidden, classes: cfg.classes }, cfg.d, hostValues('tracer', g));
    const layers = g.inputs.map((a) => requiresGrad(upload(a)));
    const out = tidy(() => {
      const o = model.forward(layers);
      backward(sum(mul(o.logits, upload(c.R))));
      return o;
    });
    await expectNear(out.pooled, c.stages.pooled, 1e-4, 1e-5, 'pooled');
    await expectNear(out.logits, c.stages.logits, 1e-4, 1e-6, 'logits');
    for (const [k, e] of Object.entries(c.grads)) await expectNear(model.namedTensors('tracer.').get(canonical('tracer', k))!.grad!, e, 1e-3, 1e-3, `d/d${k}`, 1e-6);
    for (const [i, l] of layers.entries()) await expectNear(l.grad!, c.input_grads[i], 1e-3, 1e-3, `d/dlayer${i}`, 1e-6);
    const pred = await model.predict(layers);
    expectClose(pred.flatMap((p) => p.probs), c.probs!.data, { rtol: 1e-4, atol: 1e-6 }, 'probabilities');
    for (const p of pred) {
      expect(p.threshold).toBe(0.5);
      expect(p.predicted).toBe(p.topProb < 0.5 ? cfg.classes : p.top);
    }
    out.logits.dispose();
    out.pooled.dispose();
    model.dispose();
  });

  it('head parameters in use: 4,332,309 (MHA 4,198,400 + fc1 131,200 + fc3 2,709)', () => {
    expect(countParams(tracerParams(TRACER, 1024))).toBe(4_332_309);
    const model = ReferenceTracer.fromConfig(TRACER, 1024, 3);
    try {
      expect(model.parameterCount()).toBe(4_332_309);
    } finally {
      model.dispose();
    }
  });

  it('rejects layer outputs of different shapes', () => {
    const g = readGolden('tracer');
    const cfg = g.config as Record<string, number>;
    const model = ReferenceTracer.fromConfig({ heads: cfg.heads, hidden: cfg.hidden, classes: cfg.classes }, cfg.d, hostValues('tracer', g));
    const a = upload(g.inputs[0]);
    const b = upload({ shape: [2, 5, 64], data: new Array(640).fill(0) });
    expect(() => model.forward([a, b])).toThrow(/layer output 1 is \[2, 5, 64\]/);
    model.dispose();
  });
});

describe('Nes2Net-LA tracer', () => {
  it('5-class head matches PyTorch; probabilities and open-set decisions', async () => {
    const g = readGolden('tiny-a-tracer');
    const model = Nes2Net.fromConfig(nes2netTracerConfig(5, 64), hostValues('nes2net', g));
    const x = upload(g.inputs[0]);
    const logits = tidy(() => model.forward(x).logits);
    await expectNear(logits, g.cases.eval.stages.logits, 1e-4, 1e-6, 'logits');
    const l = await logits.data();
    for (const tau of [0.5, 0.9, 0.99]) {
      const pred = await predictClasses(model, x, tau);
      expect(pred).toHaveLength(2);
      for (const [r, p] of pred.entries()) {
        const ref = openSetDecisions(l.subarray(r * 5, r * 5 + 5), 5, tau)[0];
        expect(p.predicted).toBe(ref.predicted);
        expect(p.threshold).toBe(tau);
        expect(p.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }
    }
    model.dispose();
  });
});

describe('open-set rule', () => {
  it('unseen when the top probability is below τ; a tie at τ stays seen; argmax otherwise', () => {
    // two equal logits: p = [0.5, 0.5] exactly: seen at τ = 0.5 (class 0), unseen just above
    expect(openSetDecisions([1, 1], 2, 0.5)[0]).toMatchObject({ predicted: 0, unseen: false, topProb: 0.5 });
    expect(openSetDecisions([1, 1], 2, 0.5000001)[0]).toMatchObject({ predicted: 2, unseen: true });
    const rows = openSetDecisions([0, 5, 0, 0.1, 0.2, 0.3], 3, 0.9);
    expect(rows.map((r) => r.predicted)).toEqual([1, 3]);
    expect(rows[1].top).toBe(2);
    expect(() => openSetDecisions([1, 2, 3], 2)).toThrow(/rows of 2 classes/);
    expect(() => openSetDecisions([1, 2], 2, 1.5)).toThrow(/threshold/);
  });
});
