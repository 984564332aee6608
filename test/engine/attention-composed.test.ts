// The composed dense attention CPU adapters take for unmasked attention without dropout
// (kernels/attention-composed.ts): forward and gradients against the float64 reference, and the routing
// rule (a mask, dropout or an explicit variant keeps the fused kernels).
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backward, getEngine, initEngine, ones, tensor } from '../../engine/node.ts';
import '../../kernels/index.ts';
import { attention } from '../../kernels/attention.ts';
import { attentionComposed, useComposedAttention, COMPOSED_ATTENTION_MAX_SCORES } from '../../kernels/attention-composed.ts';
import { randomNd } from '../reference/nd.ts';
import { attentionRef, attentionRefBackward } from '../reference/attention.ts';
import { expectClose, toTensor } from './attention-helpers.ts';

beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
});

describe('composed attention', () => {
  it('matches the float64 forward and dQ/dK/dV over random shapes', async () => {
    const arb = fc.record({
      B: fc.integer({ min: 1, max: 2 }),
      H: fc.integer({ min: 1, max: 3 }),
      N: fc.integer({ min: 1, max: 13 }),
      M: fc.integer({ min: 1, max: 21 }),
      dk: fc.constantFrom(3, 8),
      dv: fc.constantFrom(2, 5),
      seed: fc.integer({ min: 1, max: 1000 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async (c) => {
        const q = randomNd([c.B, c.H, c.N, c.dk], c.seed);
        const k = randomNd([c.B, c.H, c.M, c.dk], c.seed + 1);
        const v = randomNd([c.B, c.H, c.M, c.dv], c.seed + 2);
        const g = randomNd([c.B, c.H, c.N, c.dv], c.seed + 3);
        const want = attentionRef(q, k, v);
        const wantG = attentionRefBackward(q, k, v, g);
        const [tq, tk, tv] = [toTensor(q, true), toTensor(k, true), toTensor(v, true)];
        const out = attentionComposed(tq, tk, tv, 1 / Math.sqrt(c.dk));
        backward(out, toTensor(g));
        const label = JSON.stringify(c);
        expectClose(await out.data(), want.out.data, `${label} out`);
        expectClose(await tq.grad!.data(), wantG.dq.data, `${label} dq`, 2e-4);
        expectClose(await tk.grad!.data(), wantG.dk.data, `${label} dk`, 2e-4);
        expectClose(await tv.grad!.data(), wantG.dv.data, `${label} dv`, 2e-4);
      }),
      { numRuns: 20, seed: 21 },
    );
  });

  it('is taken on CPU adapters only for unmasked attention without dropout or an explicit variant', () => {
    const q = ones([1, 2, 5, 4]);
    const cpu = getEngine().adapter.isCpu;
    expect(useComposedAttention(q, q, {})).toBe(cpu);
    expect(useComposedAttention(q, q, { keyPaddingMask: tensor(new Float32Array(5), [1, 5]) })).toBe(false);
    expect(useComposedAttention(q, q, { dropout: 0.1 })).toBe(false);
    expect(useComposedAttention(q, q, { variant: 'direct' })).toBe(false);
    // Past the score budget the fused kernel's O(N) memory wins.
    const side = Math.ceil(Math.sqrt(COMPOSED_ATTENTION_MAX_SCORES)) + 1;
    const long = { rank: 4, shape: [1, 1, side, 4] } as unknown as typeof q;
    expect(useComposedAttention(long, long, {})).toBe(false);
  });

  it('attention() gives the same result on both paths', async () => {
    const q = toTensor(randomNd([1, 2, 9, 8], 3));
    const k = toTensor(randomNd([1, 2, 11, 8], 4));
    const v = toTensor(randomNd([1, 2, 11, 5], 5));
    const a = await attention(q, k, v).data();
    const b = await attention(q, k, v, { variant: 'direct' }).data();
    expectClose(a, b, 'default vs direct');
  });
});
