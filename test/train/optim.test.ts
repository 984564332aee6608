// Fused optimizer kernels against float64 references of PyTorch's update rules, exact resume from
// saved state, and gradient clipping by global norm.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keep, requiresGrad, tensor, type Tensor } from '../../engine/node.ts';
import { Adam, AdamW, SGD, clipGradNorm } from '../../nn/optim.ts';
import { expectClose } from '../helpers/close.ts';
import { useEngine } from '../helpers/engine.ts';
import { runs, seed } from '../helpers/arbitraries.ts';
import { SeededRandom } from '../reference/nd.ts';
import { adamRef, sgdRef, type RefState } from '../reference/optim.ts';

useEngine();
const TOL = { rtol: 2e-5, atol: 2e-6 };

function randomArray(n: number, rng: SeededRandom, scale = 1): number[] {
  return Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

function setGrad(p: Tensor, g: number[]): void {
  p.grad?.dispose();
  p.grad = keep(tensor(g, p.shape));
}

describe('optimizers match PyTorch update rules', () => {
  it('Adam (L2) and AdamW (decoupled) over several steps', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.boolean(), fc.double({ min: 0, max: 0.1, noNaN: true }), seed, async (n, decoupled, wd, s) => {
        const rng = new SeededRandom(s);
        const p0 = randomArray(n, rng);
        const p = keep(requiresGrad(tensor(p0, [n])));
        const Opt = decoupled ? AdamW : Adam;
        const opt = new Opt({ w: p }, { lr: 0.01, betas: [0.9, 0.98], eps: 1e-8, weightDecay: wd });
        const ref: RefState = { p: [...p0], m: new Array(n).fill(0), v: new Array(n).fill(0), step: 0 };
        for (let k = 0; k < 4; k++) {
          const g = randomArray(n, rng, 2);
          setGrad(p, g);
          opt.update();
          adamRef(ref, g, 0.01, 0.9, 0.98, 1e-8, wd, decoupled);
        }
        expectClose(await p.data(), ref.p, TOL, decoupled ? 'AdamW' : 'Adam');
        opt.dispose();
        p.dispose();
      }),
      runs(12),
    );
  });

  it('SGD with momentum, dampening, weight decay and Nesterov', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.constantFrom(0, 0.9), fc.boolean(), seed, async (n, momentum, nesterov, s) => {
        const rng = new SeededRandom(s);
        const p0 = randomArray(n, rng);
        const p = keep(requiresGrad(tensor(p0, [n])));
        const damp = nesterov ? 0 : 0.1;
        const opt = new SGD({ w: p }, { lr: 0.05, momentum, dampening: damp, weightDecay: 1e-3, nesterov: nesterov && momentum > 0 });
        const ref: RefState = { p: [...p0], m: new Array(n).fill(0), v: [], step: 0 };
        for (let k = 0; k < 3; k++) {
          const g = randomArray(n, rng);
          setGrad(p, g);
          opt.update();
          sgdRef(ref, g, 0.05, momentum, damp, 1e-3, nesterov && momentum > 0);
        }
        expectClose(await p.data(), ref.p, TOL, 'SGD');
        opt.dispose();
        p.dispose();
      }),
      runs(10),
    );
  });

  it('resumes exactly from saved state (Adam and SGD)', async () => {
    for (const make of [(p: Tensor) => new Adam({ w: p }, { lr: 0.02, weightDecay: 0.01 }), (p: Tensor) => new SGD({ w: p }, { lr: 0.1, momentum: 0.9 })]) {
      const rng = new SeededRandom(5);
      const grads = [0, 1, 2, 3, 4, 5].map(() => randomArray(7, rng));
      const p0 = randomArray(7, rng);
      // Uninterrupted run.
      const a = keep(requiresGrad(tensor(p0, [7])));
      const oa = make(a);
      for (const g of grads) (setGrad(a, g), oa.update());
      // Interrupted after 3 steps: save, build a fresh optimizer, load, continue.
      const b = keep(requiresGrad(tensor(p0, [7])));
      const ob = make(b);
      for (const g of grads.slice(0, 3)) (setGrad(b, g), ob.update());
      const saved = await ob.stateDict();
      const snapshot = JSON.parse(JSON.stringify({ ...saved, buffers: Object.fromEntries(Object.entries(saved.buffers).map(([k, v]) => [k, { shape: v.shape, data: Array.from(v.data) }])) }));
      const restored = { ...snapshot, buffers: Object.fromEntries(Object.entries(snapshot.buffers as Record<string, { shape: number[]; data: number[] }>).map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }])) };
      const pb = await b.data();
      const c = keep(requiresGrad(tensor(pb, [7])));
      const oc = make(c);
      oc.loadStateDict(restored);
      for (const g of grads.slice(3)) (setGrad(c, g), oc.update());
      expect(Array.from(await c.data())).toEqual(Array.from(await a.data()));
      expect(() => new SGD({ w: c }, { lr: 1 }).loadStateDict({ ...restored, kind: 'adam' })).toThrow(/state is for 'adam'/);
    }
  });
});

describe('clipGradNorm', () => {
  it('scales gradients to the max norm and returns the norm before clipping', async () => {
    const a = requiresGrad(tensor([0, 0], [2]));
    const b = requiresGrad(tensor([0], [1]));
    setGrad(a, [3, 0]);
    setGrad(b, [4]);
    const total = await clipGradNorm({ a, b }, 1).item();
    expect(total).toBeCloseTo(5, 5);
    expectClose(await a.grad!.data(), [0.6, 0], TOL, 'clipped a');
    expectClose(await b.grad!.data(), [0.8], TOL, 'clipped b');
    // Below the limit: unchanged.
    expect(await clipGradNorm({ a, b }, 10).item()).toBeCloseTo(1, 5);
    expectClose(await b.grad!.data(), [0.8], TOL, 'unclipped b');
  });
});
