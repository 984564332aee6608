import { describe, expect, it } from 'vitest';
import { convolveRange } from '../../train/data/fft.ts';
import { Rng } from '../../train/data/prng.ts';
import {
  filterFIR,
  firwinBandstop,
  freqzMagnitude,
  isd,
  isdRaw,
  lnl,
  normWav,
  notchCoeffs,
  rawboost,
  RAWBOOST_DEFAULTS,
  ssi,
  type RawBoostTrace,
} from '../../train/data/rawboost.ts';

// Goldens from scipy 1.17 (signal.firwin, signal.freqz, and RawBoost.py's filterFIR with lfilter).
const FIRWIN_11 = [
  0.01536426862731129, 0.03611611600990673, 0.04872768455348825, -0.037275762712383254, -0.20638496134390244, 1.286905309731159,
  -0.20638496134390244, -0.037275762712383254, 0.04872768455348825, 0.03611611600990673, 0.01536426862731129,
];
const FIRWIN_7 = [0.029845159491702723, -0.320538641673543, -2.080511212842034, 5.74240939004775, -2.0805112128420347, -0.3205386416735434, 0.029845159491702723];
const FILTER_X = [0.5, -0.25, 0.125, 1.0, -1.0, 0.3, 0.2, -0.7, 0.9, 0.05, -0.4, 0.6];
const FILTER_Y = [
  -5.051395279941566, -1.5137111537818237, 11.735272309706923, -13.469679901101015, 5.7253447223034355, 3.537174215216365, -10.410091264699824,
  10.194688974475591, -1.3606143530895618, -6.236015638295116, 6.722065031375488, -2.0309105677472905,
];

function speechLike(n: number, seed: number): Float32Array {
  // A few decaying harmonics plus noise, peak ≈ 0.5: enough structure for the filters to act on.
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, (_, i) => {
    const t = i / 16000;
    return 0.2 * Math.sin(2 * Math.PI * 150 * t) + 0.15 * Math.sin(2 * Math.PI * 450 * t) * Math.cos(3 * t) + 0.1 * Math.sin(2 * Math.PI * 1300 * t) + 0.02 * r.normal();
  });
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `index ${i}`).toBeLessThan(tol);
};

describe('RawBoost building blocks against scipy', () => {
  it('firwin band-stop (Hamming, pass_zero, Σh = 1)', () => {
    close(firwinBandstop(11, 1000, 2500, 16000), FIRWIN_11, 1e-14);
    close(firwinBandstop(7, 0.001, 3000, 16000), FIRWIN_7, 1e-12);
  });
  it('freqz 512-point magnitude and filterFIR (group-delay compensated, same length)', () => {
    const b = convolveRange(Float64Array.from(FIRWIN_11), Float64Array.from(FIRWIN_7), 0, 17);
    const mag = freqzMagnitude(b);
    expect(mag.length).toBe(512);
    expect(Math.max(...mag)).toBeCloseTo(14.49024114869292, 10);
    expect(mag[100]).toBeCloseTo(1.71178972733547, 10);
    close(filterFIR(Float64Array.from(FILTER_X), b), FILTER_Y, 1e-12);
  });
  it('FFT convolution equals direct convolution', () => {
    const r = new Rng(5);
    const x = Float64Array.from({ length: 5000 }, () => r.normal());
    const b = Float64Array.from({ length: 301 }, () => r.normal());
    const fast = convolveRange(x, b, 123, 4000);
    for (const i of [0, 1, 177, 2000, 3999]) {
      const n = 123 + i;
      let acc = 0;
      for (let k = 0; k < b.length; k++) if (n - k >= 0 && n - k < x.length) acc += b[k] * x[n - k];
      expect(fast[i]).toBeCloseTo(acc, 9);
    }
  });
  it('normWav', () => {
    expect(Array.from(normWav(Float64Array.of(0.5, -0.25), true))).toEqual([1, -0.5]);
    expect(Array.from(normWav(Float64Array.of(0.5, -0.25), false))).toEqual([0.5, -0.25]);
    expect(Array.from(normWav(Float64Array.of(2, -1), false))).toEqual([1, -0.5]);
    expect(Array.from(normWav(Float64Array.of(0, 0), true))).toEqual([0, 0]);
  });
});

describe('RawBoost invariants (spec data.md §4)', () => {
  const x = speechLike(16000, 1);
  const xd = Float64Array.from(x);

  it('notch: max|H| over the 512-point grid = 10^(G/20), G drawn in [minG, maxG]', () => {
    for (let s = 0; s < 20; s++) {
      const trace: RawBoostTrace = { notchGainsDb: [] };
      const b = notchCoeffs(new Rng(s), RAWBOOST_DEFAULTS, 16000, -5, -20, trace);
      const G = trace.notchGainsDb![0];
      expect(G).toBeLessThanOrEqual(-5);
      expect(G).toBeGreaterThanOrEqual(-20);
      expect(Math.max(...freqzMagnitude(b))).toBeCloseTo(10 ** (G / 20), 12);
      expect((b.length - 1) % 2).toBe(0); // odd length (sum of odd tap counts − (nBands − 1))
    }
  });

  it('every algorithm keeps the length and is deterministic per seed', () => {
    for (let algo = 0; algo <= 8; algo++) {
      const a = rawboost(x, algo, new Rng(42));
      const b = rawboost(x, algo, new Rng(42));
      const c = rawboost(x, algo, new Rng(43));
      expect(a.length).toBe(x.length);
      expect(Array.from(a)).toEqual(Array.from(b));
      if (algo > 0) expect(Array.from(a)).not.toEqual(Array.from(c));
      else expect(Array.from(a)).toEqual(Array.from(x));
      expect(a.every(Number.isFinite)).toBe(true);
    }
    expect(() => rawboost(x, 9, new Rng(1))).toThrow(/0–8/);
  });

  it('LnL: zero mean, peak ≤ 1; first-order gain 0 dB, higher orders in [−20, −5] dB', () => {
    for (let s = 0; s < 5; s++) {
      const trace: RawBoostTrace = { notchGainsDb: [] };
      const y = lnl(xd, new Rng(s), RAWBOOST_DEFAULTS, 16000, trace);
      const mean = y.reduce((a, v) => a + v, 0) / y.length;
      expect(Math.abs(mean)).toBeLessThan(1e-12);
      expect(Math.max(...y.map(Math.abs))).toBeLessThanOrEqual(1);
      expect(trace.notchGainsDb!.length).toBe(5);
      expect(trace.notchGainsDb![0]).toBe(0);
      for (const g of trace.notchGainsDb!.slice(1)) {
        expect(g).toBeLessThanOrEqual(-5);
        expect(g).toBeGreaterThanOrEqual(-20);
      }
    }
  });

  it('ISD: exactly int(len·β/100) drawn positions, |Δ| ≤ g_sd·|x|, nothing else changes', () => {
    for (let s = 0; s < 10; s++) {
      const trace: RawBoostTrace = {};
      const y = isdRaw(xd, new Rng(s), RAWBOOST_DEFAULTS, trace);
      const n = Math.trunc((xd.length * trace.isdBeta!) / 100);
      expect(trace.isdPositions!.length).toBe(n);
      expect(new Set(trace.isdPositions!).size).toBe(n);
      const drawn = new Set(trace.isdPositions!);
      let changed = 0;
      let violations = 0;
      for (let i = 0; i < xd.length; i++) {
        const d = Math.abs(y[i] - xd[i]);
        if (drawn.has(i) ? d > 2 * Math.abs(xd[i]) + 1e-15 : d !== 0) violations++;
        if (d > 0) changed++;
      }
      expect(violations).toBe(0);
      expect(changed).toBeLessThanOrEqual(n);
      expect(changed).toBeGreaterThan(n * 0.9); // almost all drawn samples move (f ≠ 0 a.s., x ≠ 0)
    }
  });

  it('SSI: 20·log10(‖x‖/‖out − x‖) equals the drawn SNR, SNR in [10, 40] dB', () => {
    for (let s = 0; s < 10; s++) {
      const trace: RawBoostTrace = {};
      const y = ssi(xd, new Rng(s), RAWBOOST_DEFAULTS, 16000, trace);
      let ex = 0;
      let en = 0;
      for (let i = 0; i < xd.length; i++) {
        ex += xd[i] ** 2;
        en += (y[i] - xd[i]) ** 2;
      }
      expect(10 * Math.log10(ex / en)).toBeCloseTo(trace.ssiSnrDb!, 9);
      expect(trace.ssiSnrDb!).toBeGreaterThanOrEqual(10);
      expect(trace.ssiSnrDb!).toBeLessThanOrEqual(40);
    }
  });

  it('the chains of algorithms 4–8 are the compositions of 1–3 in the table order', () => {
    const seq = (f: (r: Rng) => Float64Array) => Float32Array.from(f(new Rng(9)));
    const p = RAWBOOST_DEFAULTS;
    expect(rawboost(x, 4, new Rng(9))).toEqual(seq((r) => ssi(isd(lnl(xd, r, p), r, p), r, p)));
    expect(rawboost(x, 5, new Rng(9))).toEqual(seq((r) => isd(lnl(xd, r, p), r, p)));
    expect(rawboost(x, 6, new Rng(9))).toEqual(seq((r) => ssi(lnl(xd, r, p), r, p)));
    expect(rawboost(x, 7, new Rng(9))).toEqual(seq((r) => ssi(isd(xd, r, p), r, p)));
    expect(rawboost(x, 8, new Rng(9))).toEqual(
      seq((r) => {
        const a = lnl(xd, r, p);
        const b = isd(xd, r, p);
        return normWav(a.map((v, i) => v + b[i]), false);
      }),
    );
  });

  it('statistics over many items: β ~ U(0, 10) %, SNR ~ U(10, 40) dB', () => {
    const short = xd.subarray(0, 2000);
    const betas: number[] = [];
    const snrs: number[] = [];
    for (let s = 0; s < 400; s++) {
      const t: RawBoostTrace = {};
      isdRaw(short, Rng.derive(1234, 0, s), RAWBOOST_DEFAULTS, t);
      betas.push(t.isdBeta!);
      ssi(short, Rng.derive(1234, 1, s), RAWBOOST_DEFAULTS, 16000, t);
      snrs.push(t.ssiSnrDb!);
    }
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    // Uniform: mean (a+b)/2 with standard error (b−a)/√(12·400) ≈ 0.0144·(b−a); allow 4 SE.
    expect(Math.abs(mean(betas) - 5)).toBeLessThan(0.6);
    expect(Math.abs(mean(snrs) - 25)).toBeLessThan(1.8);
    expect(Math.min(...betas)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...snrs)).toBeLessThanOrEqual(40);
  });

  it('is fast enough for a loader: algo 4 on 4 s of audio well under a second', () => {
    const long = speechLike(64600, 3);
    const t0 = process.cpuUsage().user; // CPU time, so a busy machine does not fail the test
    rawboost(long, 4, new Rng(1));
    expect((process.cpuUsage().user - t0) / 1000).toBeLessThan(1000);
  });
});
