// The nn layers against direct kernel calls: names and shapes of their parameters, Linear on any rank, Conv1d
// with a stored Conv2d-shaped kernel or weight norm, GroupNorm, BatchNorm1d's counter, Dropout's identity.
import { describe, expect, it, vi } from 'vitest';
import { backward, getEngine, noGrad, randn, Rng, type Tensor } from '../../engine/node.ts';
import { assign, conv1d, groupNorm, mulScalar, reshape, sum, weightNorm } from '../../kernels/index.ts';
import { BatchNorm1d, build, Conv1d, Dropout, GroupNorm, Linear, uniformValues, type ParamSource } from '../../nn/index.ts';
import { useEngine } from '../helpers/engine.ts';

useEngine();

/** Seeded random values for any path (counters 0). */
const anySource = (seed: number): ParamSource => {
  const rng = new Rng(seed);
  return { value: (_path, shape, kind) => (kind === 'counter' ? 0 : uniformValues(shape.reduce((a, b) => a * b, 1), 1, rng)) };
};

const data = async (t: Tensor) => Array.from((await t.data()) as Float32Array);

describe('nn layers', () => {
  it('Linear: names, shapes; rank-3 input = the rank-2 GEMM of its rows; no bias on request', async () => {
    const l = build(anySource(1), '', (p) => new Linear(p, 4, 3));
    const nb = build(anySource(2), '', (p) => new Linear(p, 4, 3, { bias: false }));
    const x = randn([2, 5, 4], 3);
    try {
      expect([...l.namedParameters()].map(([n, t]) => [n, t.shape])).toEqual([['weight', [3, 4]], ['bias', [3]]]);
      expect([...nb.namedParameters().keys()]).toEqual(['weight']);
      const y3 = l.forward(x);
      expect(y3.shape).toEqual([2, 5, 3]);
      expect(await data(y3)).toEqual(await data(l.forward(reshape(x, [10, 4]))));
    } finally {
      l.dispose();
      nb.dispose();
    }
  });

  it('Conv1d: a stored [out, in, K, 1] kernel runs as 1-D; weight norm gives weight_g / weight_v', async () => {
    const c = build(anySource(4), '', (p) => new Conv1d(p, { inChannels: 3, outChannels: 2, kernel: 3, weightShape: [2, 3, 3, 1], conv: { padding: 1 } }));
    const wn = build(anySource(5), '', (p) => new Conv1d(p, { inChannels: 4, outChannels: 4, kernel: 2, groups: 2, weightNorm: true }));
    const x = randn([1, 3, 6], 6);
    const x4 = randn([1, 4, 6], 7);
    try {
      expect([...c.namedParameters()].map(([n, t]) => [n, t.shape])).toEqual([['weight', [2, 3, 3, 1]], ['bias', [2]]]);
      expect(await data(c.forward(x))).toEqual(await data(conv1d(x, reshape(c.weight!, [2, 3, 3]), c.bias, { padding: 1 })));
      expect([...wn.namedParameters()].map(([n, t]) => [n, t.shape])).toEqual([['weight_g', [1, 1, 2]], ['weight_v', [4, 2, 2]], ['bias', [4]]]);
      expect(await data(wn.forward(x4))).toEqual(await data(conv1d(x4, weightNorm(wn.weightG!, wn.weightV!, 2), wn.bias, { groups: 2 })));
    } finally {
      c.dispose();
      wn.dispose();
    }
  });

  it('Conv1d folds its weight norm once for inference and again after g or v is written', async () => {
    const wn = build(anySource(8), '', (p) => new Conv1d(p, { inChannels: 4, outChannels: 4, kernel: 3, groups: 2, weightNorm: true, conv: { padding: 1 } }));
    const x = randn([1, 4, 7], 9);
    const e = getEngine();
    const want = async () => data(noGrad(() => conv1d(x, weightNorm(wn.weightG!, wn.weightV!, 2), wn.bias, { groups: 2, padding: 1 })));
    const folds = () => spy.mock.calls.filter(([d]) => d.op === 'weightNorm').length;
    const spy = vi.spyOn(e, 'dispatch');
    try {
      const y1 = await data(noGrad(() => wn.forward(x)));
      const after1 = folds();
      const y2 = await data(noGrad(() => wn.forward(x)));
      expect(folds()).toBe(after1); // no second fold
      expect(y2).toEqual(y1);
      expect(y1).toEqual(await want());
      // A state load (assign) and an optimizer-style kernel write each invalidate the folded weight.
      assign(wn.weightV!, randn(wn.weightV!.shape, 10));
      const y3 = await data(noGrad(() => wn.forward(x)));
      expect(y3).not.toEqual(y1);
      expect(y3).toEqual(await want());
      const g2 = mulScalar(wn.weightG!, 2);
      assign(wn.weightG!, g2);
      expect(await data(noGrad(() => wn.forward(x)))).toEqual(await want());
      // With gradients wanted, the weight norm is recorded each time and g, v get gradients.
      wn.weightG!.requiresGrad = true;
      wn.weightV!.requiresGrad = true;
      backward(sum(wn.forward(x)));
      expect(wn.weightG!.grad).not.toBeNull();
      expect(wn.weightV!.grad).not.toBeNull();
    } finally {
      spy.mockRestore();
      wn.dispose();
    }
  });

  it('GroupNorm equals the kernel; BatchNorm1d counts train-mode updates in its counter; Dropout is the identity in eval', async () => {
    const g = build(anySource(8), '', (p) => new GroupNorm(p, 2, 4));
    const bn = build(anySource(9), '', (p) => new BatchNorm1d(p, 4));
    const x = randn([3, 4, 5], 10);
    try {
      expect(await data(g.forward(x))).toEqual(await data(groupNorm(x, 2, g.weight, g.bias)));
      bn.train();
      bn.forward(x).dispose();
      bn.forward(x).dispose();
      expect(bn.numBatchesTracked.value).toBe(2);
      bn.eval();
      bn.forward(x).dispose();
      expect(bn.numBatchesTracked.value).toBe(2);
      expect(new Dropout(0.5).forward(x, false, () => 1)).toBe(x);
      expect(new Dropout(0).forward(x, true, () => 1)).toBe(x);
      expect(new Dropout(0.5).forward(x, true, () => 1)).not.toBe(x);
    } finally {
      g.dispose();
      bn.dispose();
    }
  });
});
