// The tape: accumulation, noGrad, retained graphs, release, scopes, and clear errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { backward, initEngine, keep, noGrad, releaseGraph, requiresGrad, tensor, tidy } from '../../engine/node.ts';
import { add, exp, mul, sum, mulScalar, matmul } from '../../kernels/index.ts';

beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
});

describe('autograd tape', () => {
  it('gives d/dx sum(x²·y) = 2xy and d/dy = x² for a scalar loss', async () => {
    const x = requiresGrad(tensor([1, -2, 3], [3]));
    const y = requiresGrad(tensor([4, 5, -6], [3]));
    backward(sum(mul(mul(x, x), y)));
    expect(await x.grad!.toArray()).toEqual([8, -20, -36]);
    expect(await y.grad!.toArray()).toEqual([1, 4, 9]);
  });

  it('accumulates gradients across backward calls and through reused tensors', async () => {
    const x = requiresGrad(tensor([1, 2], [2]));
    backward(sum(add(x, x))); // x used twice: grad 2
    backward(sum(mulScalar(x, 3))); // accumulates: +3
    expect(await x.grad!.toArray()).toEqual([5, 5]);
  });

  it('takes an explicit gradient for a non-scalar output', async () => {
    const x = requiresGrad(tensor([0, 1], [2]));
    const g = tensor([2, 3], [2]);
    backward(exp(x), g);
    const got = await x.grad!.toArray();
    expect(got[0]).toBeCloseTo(2, 5);
    expect(got[1]).toBeCloseTo(3 * Math.E, 5);
    expect(g.disposed).toBe(false); // the caller's gradient is left alone
  });

  it('records nothing under noGrad', () => {
    const x = requiresGrad(tensor([1, 2], [2]));
    const y = noGrad(() => mul(x, x));
    expect(y.requiresGrad).toBe(false);
    expect(() => backward(sum(y))).toThrow(/no autograd tape/);
  });

  it('explains backward without a tape, on a non-scalar, and twice through a released graph', () => {
    const x = tensor([1, 2], [2]);
    expect(() => backward(sum(x))).toThrow(/backward\(\): tensor \[\] f32 has no autograd tape/);
    const w = requiresGrad(tensor([1, 2], [2]));
    expect(() => backward(mul(w, w))).toThrow(/not a scalar; pass its gradient/);
    const loss = sum(mul(w, w));
    backward(loss);
    expect(() => backward(loss)).toThrow(/already released.*retainGraph/);
  });

  it('runs twice with retainGraph and then frees the graph on release', async () => {
    const w = requiresGrad(tensor([3], [1]));
    const loss = sum(mul(w, w));
    backward(loss, undefined, { retainGraph: true });
    backward(loss);
    expect(await w.grad!.toArray()).toEqual([12]);
  });

  it('backward flows through matmul inside tidy, and tidy frees the intermediates', async () => {
    const w = requiresGrad(tensor([1, 2, 3, 4], [2, 2]));
    const x = tensor([1, 1], [1, 2]);
    tidy(() => {
      backward(sum(matmul(x, w)));
    });
    expect(await w.grad!.toArray()).toEqual([1, 1, 1, 1]);
  });

  it('tidy keeps returned tensors and their graph, and keep() pins others', async () => {
    const w = requiresGrad(tensor([2], [1]));
    let pinned: ReturnType<typeof tensor> | null = null;
    const loss = tidy(() => {
      const h = mul(w, w); // an intermediate: disposed when the scope ends
      pinned = keep(mulScalar(h, 1));
      return sum(mulScalar(h, 3));
    });
    expect(pinned!.disposed).toBe(false);
    backward(loss); // the graph behind the returned loss survived the scope
    expect(await w.grad!.toArray()).toEqual([12]);
    releaseGraph(pinned!);
  });
});
