// The buffer pool: live bytes stay flat over many training-like steps, buffers are reused only
// after the commands that used them were submitted, and counters add up.
import { beforeAll, describe, expect, it } from 'vitest';
import { backward, getEngine, initEngine, keep, noGrad, randn, requiresGrad, tidy } from '../../engine/node.ts';
import { add, assign, gelu, logSoftmax, matmul, mean, mulScalar, sub } from '../../kernels/index.ts';
import { BufferPool, sizeClass } from '../../engine/pool.ts';

beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
});

describe('buffer pool', () => {
  it('size classes are powers of two and their midpoints, at least 256 bytes', () => {
    expect(sizeClass(1)).toBe(256);
    expect(sizeClass(257)).toBe(384);
    expect(sizeClass(385)).toBe(512);
    expect(sizeClass(1 << 20)).toBe(1 << 20);
    expect(sizeClass((1 << 20) + 1)).toBe(1.5 * (1 << 20));
  });

  it('near the adapter maximum a buffer gets its exact size instead of an overshooting size class', () => {
    const pool = new BufferPool(getEngine().device, 1000);
    const buf = pool.acquire(900, 'test'); // size class 1024 > 1000
    expect(buf.size).toBe(912);
    expect(() => pool.acquire(1001, 'big tensor')).toThrow(/big tensor: needs a 1001-byte buffer, larger than this adapter's maxBufferSize \(1000\)/);
    pool.release(buf);
    pool.onSubmitted();
    expect(pool.acquire(900, 'again')).toBe(buf);
  });

  it('a released buffer is not handed out again before a submit', () => {
    const pool = getEngine().pool;
    const e = getEngine();
    e.flush();
    const a = pool.acquire(1000, 'test');
    pool.release(a);
    const b = pool.acquire(1000, 'test');
    expect(b).not.toBe(a); // a is pending until the next submit
    pool.release(b);
    pool.onSubmitted();
    const c = pool.acquire(1000, 'test');
    expect([a, b]).toContain(c);
    pool.release(c);
  });

  it('1000 forward+backward steps of a small MLP leave live bytes flat', async () => {
    const e = getEngine();
    const w1 = keep(requiresGrad(randn([8, 16], 1, 0.3)));
    const w2 = keep(requiresGrad(randn([16, 4], 2, 0.3)));
    const x = keep(randn([5, 8], 3));
    const step = () =>
      tidy(() => {
        const h = gelu(matmul(x, w1));
        const loss = mean(mulScalar(logSoftmax(matmul(h, w2)), -1));
        backward(loss);
        // SGD update without recording, then drop the gradients.
        noGrad(() => {
          for (const w of [w1, w2]) {
            const nw = sub(w, mulScalar(w.grad!, 0.01));
            const old = w.grad!;
            w.grad = null;
            old.dispose();
            assign(w, nw);
            nw.dispose();
          }
        });
      });
    for (let i = 0; i < 20; i++) step(); // warm-up fills the pool
    await e.sync();
    const before = e.memory();
    for (let i = 0; i < 1000; i++) step();
    await e.sync();
    const after = e.memory();
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(after.allocatedBytes).toBe(before.allocatedBytes); // no new GPU buffers: everything came from the pool
    expect(after.reuses).toBeGreaterThan(before.reuses + 1000);
  });
});

describe('use-after-dispose', () => {
  it('names the op and the tensor', () => {
    const t = randn([2, 3], 1);
    t.dispose();
    expect(() => add(t, t)).toThrow(/add: .*\[2, 3\] f32 was used after dispose\(\)/);
  });
});
