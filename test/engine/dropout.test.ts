// Dropout: seeded and deterministic, the GPU mask equals the host mirror bit for bit (so Node and
// browsers agree), the kept fraction is ≈ 1 − p, scaling is 1/(1 − p), and backward reuses the mask.
import { describe, expect, it } from 'vitest';
import { backward, ones, requiresGrad, tensor } from '../../engine/node.ts';
import { dropout, dropoutMaskHost, dropoutSeed, sum } from '../../kernels/index.ts';
import { useEngine } from '../helpers/engine.ts';

useEngine();

describe('dropout', () => {
  it('matches the host mirror of the mask exactly and keeps ≈ 1 − p', async () => {
    const n = 20000;
    const p = 0.3;
    const seed = dropoutSeed(7, 3, 1);
    const y = await dropout(ones([n]), p, seed).data();
    const mask = dropoutMaskHost(n, seed, p);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      expect(y[i]).toBe(mask[i] ? Math.fround(1 / (1 - p)) : 0);
      kept += mask[i];
    }
    // Binomial(20000, 0.7): std ≈ 65, so ±400 is a > 6σ band.
    expect(Math.abs(kept - 0.7 * n)).toBeLessThan(400);
  });

  it('same seed → same mask; other seed → other mask; eval and p = 0 pass through', async () => {
    const x = tensor(Float32Array.from({ length: 64 }, (_, i) => i + 1), [8, 8]);
    const a = await dropout(x, 0.5, 11).toArray();
    const b = await dropout(x, 0.5, 11).toArray();
    const c = await dropout(x, 0.5, 12).toArray();
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(await dropout(x, 0.5, 11, false).toArray()).toEqual(await x.toArray());
    expect(await dropout(x, 0, 11).toArray()).toEqual(await x.toArray());
    expect(() => dropout(x, 1, 0)).toThrow('dropout: probability 1 is not in [0, 1)');
  });

  it('backward applies the same mask and scale', async () => {
    const x = requiresGrad(tensor(Float32Array.from({ length: 100 }, (_, i) => i - 50), [100]));
    backward(sum(dropout(x, 0.2, 99)));
    const g = await x.grad!.data();
    const mask = dropoutMaskHost(100, 99, 0.2);
    for (let i = 0; i < 100; i++) expect(g[i]).toBe(mask[i] ? Math.fround(1 / 0.8) : 0);
  });
});
