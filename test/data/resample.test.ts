import { describe, expect, it } from 'vitest';
import { Rng } from '../../train/data/prng.ts';
import { gcd, resample, resampledLength, resamplerName } from '../../train/data/resample.ts';
import { rms, toneAmplitude } from './helpers.ts';

/** The spec data.md §1 definition written out literally: full kernel, every tap, no shortcuts. */
function referenceResample(x: Float32Array, orig: number, next: number, window: 'hann' | 'kaiser' = 'hann'): Float64Array {
  const g = gcd(orig, next);
  const o = orig / g;
  const n = next / g;
  const base = Math.min(o, n) * 0.99;
  const width = Math.ceil((6 * o) / base);
  const K = 2 * width + o;
  const beta = 14.769656459379492;
  const i0 = (z: number) => {
    let s = 1;
    let t = 1;
    for (let k = 1; k < 200; k++) {
      t *= (z * z) / 4 / (k * k);
      s += t;
    }
    return s;
  };
  const h: Float64Array[] = [];
  for (let p = 0; p < n; p++) {
    const row = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      let t = ((k - width) / o - p / n) * base;
      t = Math.max(-6, Math.min(6, t));
      const w = window === 'hann' ? Math.cos((Math.PI * t) / 12) ** 2 : i0(beta * Math.sqrt(1 - (t / 6) ** 2)) / i0(beta);
      row[k] = (t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t)) * w * (base / o);
    }
    h.push(row);
  }
  const L = x.length;
  const outLen = Math.ceil((n * L) / o);
  const y = new Float64Array(outLen);
  const xp = (m: number) => (m - width >= 0 && m - width < L ? x[m - width] : 0);
  for (let idx = 0; idx < outLen; idx++) {
    const j = Math.floor(idx / n);
    const p = idx % n;
    let acc = 0;
    for (let k = 0; k < K; k++) acc += h[p][k] * xp(j * o + k);
    y[idx] = acc;
  }
  return y;
}

const noise = (n: number, seed: number) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.uniform(-1, 1));
};

describe('resampler = torchaudio sinc_interp_hann definition (spec data.md §1)', () => {
  it.each([
    [44100, 16000],
    [48000, 16000],
    [22050, 16000],
    [8000, 16000],
    [16000, 8000],
    [11025, 16000],
    [32000, 16000],
    [12345, 16000],
  ])('%i → %i matches the literal definition', (o, n) => {
    const x = noise(1500, o);
    const y = resample(x, o, n);
    const ref = referenceResample(x, o, n);
    expect(y.length).toBe(ref.length);
    expect(y.length).toBe(resampledLength(1500, o, n));
    let maxErr = 0;
    for (let i = 0; i < y.length; i++) maxErr = Math.max(maxErr, Math.abs(y[i] - ref[i]));
    expect(maxErr).toBeLessThan(2e-7); // float32 output rounding only
  });

  it('the Kaiser option matches its definition too', () => {
    const x = noise(1000, 3);
    const y = resample(x, 44100, 16000, { window: 'kaiser' });
    const ref = referenceResample(x, 44100, 16000, 'kaiser');
    let maxErr = 0;
    for (let i = 0; i < y.length; i++) maxErr = Math.max(maxErr, Math.abs(y[i] - ref[i]));
    expect(maxErr).toBeLessThan(2e-7);
    expect(resamplerName({ window: 'kaiser' })).toMatch(/^sinc_interp_kaiser\(.*beta=14.769656459379492\)$/);
  });

  it('equal rates copy; output length is ceil(n·L/o); odd rate pairs stay cheap', () => {
    const x = noise(10, 1);
    const y = resample(x, 16000, 16000);
    expect(y).not.toBe(x);
    expect(Array.from(y)).toEqual(Array.from(x));
    expect(resampledLength(1, 44100, 16000)).toBe(1);
    expect(resampledLength(441, 44100, 16000)).toBe(160);
    expect(resampledLength(442, 44100, 16000)).toBe(161);
    const t0 = process.cpuUsage().user;
    expect(resample(noise(44101, 2), 44101, 16000).length).toBe(16000);
    expect((process.cpuUsage().user - t0) / 1000).toBeLessThan(2000); // CPU ms; a full kernel would take minutes
  });

  it('is linear and has no delay: a passband sine comes out at the same phase', () => {
    const f = 1000;
    const x = Float32Array.from({ length: 44100 }, (_, i) => Math.sin((2 * Math.PI * f * i) / 44100));
    const y = resample(x, 44100, 16000);
    let maxErr = 0;
    for (let m = 1000; m < y.length - 1000; m++) maxErr = Math.max(maxErr, Math.abs(y[m] - Math.sin((2 * Math.PI * f * m) / 16000)));
    expect(maxErr).toBeLessThan(2e-3); // passband gain within 0.02 dB, zero phase
  });
});

// Stepped sine sweeps: for each frequency, gain of the tone (passband) or energy of everything that
// comes out (stop band: aliases), against the analytic ideal (unity / nothing). Bounds stated in
// docs/data.md, measured with lowpass_filter_width 6, rolloff 0.99.
function sweep(o: number, n: number, rel: number[], window: 'hann' | 'kaiser' = 'hann') {
  const ny = Math.min(o, n) / 2;
  return rel
    .filter((r) => r * ny < o / 2)
    .map((r) => {
      const f = r * ny;
      const x = Float32Array.from({ length: o }, (_, i) => Math.sin((2 * Math.PI * f * i) / o));
      const y = resample(x, o, n, { window });
      const a = Math.floor(y.length / 4);
      const b = Math.floor((3 * y.length) / 4);
      return {
        r,
        toneDb: 20 * Math.log10(toneAmplitude(y, n, f, a, b)),
        totalDb: 20 * Math.log10(rms(y, a, b) * Math.SQRT2 + 1e-30),
      };
    });
}

describe('frequency response (sine sweeps), default Hann window', () => {
  const down: [number, number][] = [
    [44100, 16000],
    [48000, 16000],
    [22050, 16000],
    [32000, 16000],
    [16000, 8000],
  ];
  it.each(down)('%i → %i: passband ripple and stop-band attenuation', (o, n) => {
    for (const p of sweep(o, n, [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])) expect(Math.abs(p.toneDb), `f = ${p.r}·Nyquist`).toBeLessThan(0.05);
    for (const p of sweep(o, n, [0.75, 0.8])) expect(p.toneDb).toBeGreaterThan(-0.6);
    for (const p of sweep(o, n, [1.3, 1.4])) expect(p.totalDb, `f = ${p.r}·Nyquist`).toBeLessThan(-44);
    for (const p of sweep(o, n, [1.5, 1.7, 2, 2.5])) expect(p.totalDb, `f = ${p.r}·Nyquist`).toBeLessThan(-54);
    // The −6 dB point sits at the cutoff, rolloff·Nyquist.
    const [c] = sweep(o, n, [0.99]);
    expect(c.toneDb).toBeGreaterThan(-6.5);
    expect(c.toneDb).toBeLessThan(-5.5);
  });

  it.each([
    [8000, 16000],
    [11025, 16000],
  ])('%i → %i (upsampling): passband ripple and image rejection', (o, n) => {
    for (const r of [0.1, 0.3, 0.5, 0.7]) {
      const f = (r * o) / 2;
      const x = Float32Array.from({ length: o }, (_, i) => Math.sin((2 * Math.PI * f * i) / o));
      const y = resample(x, o, n);
      const a = 2000;
      const b = y.length - 2000;
      expect(Math.abs(20 * Math.log10(toneAmplitude(y, n, f, a, b)))).toBeLessThan(0.05);
      const images = [o - f, o + f].filter((fi) => fi > o / 2 && fi < n / 2);
      for (const fi of images) expect(20 * Math.log10(toneAmplitude(y, n, fi, a, b))).toBeLessThan(r <= 0.5 ? -54 : -44);
      // Whatever is not the tone is small too.
      const resid = Float32Array.from(y, (v, i) => v - Math.sin((2 * Math.PI * f * i) / n));
      expect(20 * Math.log10(rms(resid, a, b) * Math.SQRT2)).toBeLessThan(r <= 0.5 ? -40 : -30);
    }
  });

  it('Kaiser window: flatter stop band far out, wider transition', () => {
    for (const p of sweep(44100, 16000, [0.1, 0.3], 'kaiser')) expect(Math.abs(p.toneDb)).toBeLessThan(0.05);
    for (const p of sweep(44100, 16000, [1.5], 'kaiser')) expect(p.totalDb).toBeLessThan(-48);
    for (const p of sweep(44100, 16000, [2, 2.5], 'kaiser')) expect(p.totalDb).toBeLessThan(-100);
  });
});
