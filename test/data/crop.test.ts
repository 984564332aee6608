import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CROP_LENGTH, cropPad, repeatPad, windows, windowStarts, WindowScoreAverager } from '../../train/data/crop.ts';
import { hashInts, Rng } from '../../train/data/prng.ts';

const seq = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 1);

describe('crop and pad (spec data.md §2)', () => {
  it('repeat-pad tiles ⌊L/len⌋ copies then the first (L mod len) samples', () => {
    expect(Array.from(repeatPad(seq(3), 8))).toEqual([1, 2, 3, 1, 2, 3, 1, 2]);
    expect(Array.from(repeatPad(seq(4), 4))).toEqual([1, 2, 3, 4]);
    const p = cropPad(seq(1000), 'repeat-first');
    expect(p.length).toBe(CROP_LENGTH);
    expect(p[999]).toBe(1000);
    expect(p[1000]).toBe(1);
    expect(p[CROP_LENGTH - 1]).toBe((CROP_LENGTH % 1000) || 1000);
  });

  it('repeat-first takes the first L samples; full keeps everything; results never alias the input', () => {
    const x = seq(70000);
    const a = cropPad(x, 'repeat-first');
    expect(a.length).toBe(64600);
    expect(a[0]).toBe(1);
    expect(a[64599]).toBe(64600);
    a[0] = -1;
    expect(x[0]).toBe(1);
    const f = cropPad(x, 'full');
    expect(f.length).toBe(70000);
    expect(f).not.toBe(x);
    expect(() => cropPad(new Float32Array(0), 'full')).toThrow(/empty/);
  });

  it('repeat-random: uniform offset in [0, len − L], reproducible from the seed', () => {
    const x = seq(64600 + 9); // 10 possible offsets
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 2000; i++) counts[cropPad(x, 'repeat-random', 64600, Rng.derive(1, 0, i))[0] - 1]++;
    for (const c of counts) expect(c).toBeGreaterThan(130); // expected 200 each
    const a = cropPad(x, 'repeat-random', 64600, Rng.derive(7, 3, 5));
    const b = cropPad(x, 'repeat-random', 64600, Rng.derive(7, 3, 5));
    expect(a[0]).toBe(b[0]);
    expect(() => cropPad(x, 'repeat-random')).toThrow(/needs an rng/);
    expect(Array.from(cropPad(seq(5), 'repeat-random', 12, new Rng(1)))).toEqual([1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]);
  });

  it('evaluation windows cover the utterance, hop L/2, last window aligned to the end', () => {
    expect(windowStarts(64600)).toEqual([0]);
    expect(windowStarts(100, 40, 20)).toEqual([0, 20, 40, 60]);
    expect(windowStarts(101, 40, 20)).toEqual([0, 20, 40, 60, 61]);
    const x = seq(100);
    const ws = [...windows(x, 40, 20)];
    expect(ws.map((w) => w.start)).toEqual([0, 20, 40, 60]);
    expect(ws[3].samples[39]).toBe(100);
    const short = [...windows(seq(10), 40)];
    expect(short.length).toBe(1);
    expect(short[0].samples.length).toBe(40);
    expect(short[0].samples[10]).toBe(1); // repeat-padded
    expect(() => [...windows(x, 40, 41)]).toThrow(/hop must be in \[1, 40\]/);
  });

  it('property: windows have length L, start in range, and cover every sample', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 400 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, L, h) => {
        const hop = Math.max(1, Math.round(h * L));
        const covered = new Uint8Array(n);
        const bad: string[] = []; // plain checks per window: thousands of expect() calls per run are slow
        for (const w of windows(seq(n), L, hop)) {
          if (w.samples.length !== L) bad.push(`window at ${w.start} has ${w.samples.length} samples`);
          if (w.start < 0 || (n >= L && w.start + L > n)) bad.push(`window at ${w.start} outside [0, ${n})`);
          for (let i = w.start; i < Math.min(n, w.start + L); i++) covered[i] = 1;
        }
        expect(bad).toEqual([]);
        expect(covered.indexOf(0)).toBe(-1);
      }),
      { numRuns: 300 },
    );
  });

  it('WindowScoreAverager emits the mean once all windows of an utterance are in, in any order', () => {
    const avg = new WindowScoreAverager();
    expect(avg.add(7, 3, 1)).toBeNull();
    expect(avg.add(2, 1, 5)).toBe(5);
    expect(avg.add(7, 3, 2)).toBeNull();
    expect(avg.open).toBe(1);
    expect(avg.add(7, 3, 6)).toBe(3);
    expect(avg.open).toBe(0);
  });
});

describe('seeded PRNG', () => {
  it('same seed → same stream; streams for different ids differ', () => {
    const a = Rng.derive(1234, 0, 5);
    const b = Rng.derive(1234, 0, 5);
    const c = Rng.derive(1234, 0, 6);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(xs);
    expect(hashInts(1, 2)).not.toBe(hashInts(2, 1));
    expect(hashInts(2 ** 40)).not.toBe(hashInts(0));
  });
  it('uniform, int, normal have the right moments; permutations are permutations', () => {
    const r = new Rng(99);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    let u = 0;
    const hist = new Array(6).fill(0);
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
      u += r.float();
      hist[r.int(6)]++;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.04);
    expect(Math.abs(u / n - 0.5)).toBeLessThan(0.01);
    for (const h of hist) expect(Math.abs(h - n / 6)).toBeLessThan(200);
    expect(r.uniform(-5, -20)).toBeLessThanOrEqual(-5);
    const p = r.permutation(100);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const k = r.sampleWithoutReplacement(1000, 50);
    expect(new Set(k).size).toBe(50);
    expect(Math.max(...k)).toBeLessThan(1000);
  });
});
