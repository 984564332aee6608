// RawBoost data augmentation (Tak et al., ICASSP 2022), algorithms 0–8 as in TakHemlata/SSL_Anti-spoofing
// `RawBoost.py` + `data_utils_SSL.py` (spec data.md §4), with the reference default parameters. The reference
// draws from numpy's global RNG; here every draw comes from a seeded per-item Rng, so an item's
// augmentation is a pure function of (seed, epoch, index).

import { convolveRange, fft, nextPow2 } from './fft.ts';
import type { Rng } from './prng.ts';

export interface RawBoostParams {
  nBands: number;
  minF: number;
  maxF: number;
  minBW: number;
  maxBW: number;
  minCoeff: number;
  maxCoeff: number;
  minG: number;
  maxG: number;
  minBiasLinNonLin: number;
  maxBiasLinNonLin: number;
  N_f: number;
  P: number;
  g_sd: number;
  SNRmin: number;
  SNRmax: number;
}

export const RAWBOOST_DEFAULTS: Readonly<RawBoostParams> = Object.freeze({
  nBands: 5,
  minF: 20,
  maxF: 8000,
  minBW: 100,
  maxBW: 1000,
  minCoeff: 10,
  maxCoeff: 100,
  minG: 0,
  maxG: 0,
  minBiasLinNonLin: 5,
  maxBiasLinNonLin: 20,
  N_f: 5,
  P: 10,
  g_sd: 2,
  SNRmin: 10,
  SNRmax: 40,
});

export const RAWBOOST_ALGOS = ['none', 'LnL', 'ISD', 'SSI', 'LnL→ISD→SSI', 'LnL→ISD', 'LnL→SSI', 'ISD→SSI', 'LnL+ISD (parallel)'];

/** Values drawn by the last call, for tests and logging. */
export interface RawBoostTrace {
  notchGainsDb?: number[];
  isdBeta?: number;
  isdPositions?: Uint32Array;
  ssiSnrDb?: number;
}

/** randRange(a, b, integer=0|1): uniform between a and b; the integer variant truncates toward zero. */
function randRange(rng: Rng, a: number, b: number, integer = false): number {
  const y = rng.uniform(a, b);
  return integer ? Math.trunc(y) : y;
}

/** x / max|x| if `always`, else only when max|x| > 1. An all-zero signal is returned unchanged. */
export function normWav(x: Float64Array, always: boolean): Float64Array {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
  if (peak > 0 && (always || peak > 1)) for (let i = 0; i < x.length; i++) x[i] /= peak;
  return x;
}

function sinc(x: number): number {
  return x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
}

/** scipy.signal.firwin(c, [f1, f2], window='hamming', fs=fs): band-stop (pass_zero), scaled so Σh = 1. */
export function firwinBandstop(c: number, f1: number, f2: number, fs: number): Float64Array {
  const nyq = fs / 2;
  const v1 = f1 / nyq;
  const v2 = f2 / nyq;
  const h = new Float64Array(c);
  const alpha = (c - 1) / 2;
  let sum = 0;
  for (let n = 0; n < c; n++) {
    const m = n - alpha;
    const w = c === 1 ? 1 : 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / (c - 1));
    h[n] = (sinc(m) - v2 * sinc(v2 * m) + v1 * sinc(v1 * m)) * w;
    sum += h[n];
  }
  for (let n = 0; n < c; n++) h[n] /= sum;
  return h;
}

/** |H(e^{jπk/512})| for k = 0..511 (scipy.signal.freqz's default grid). */
export function freqzMagnitude(b: Float64Array, points = 512): Float64Array {
  const size = nextPow2(2 * points);
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  // e^{-jωn} with ω = 2πk/size is size-periodic in n: folding b is exact.
  for (let n = 0; n < b.length; n++) re[n % size] += b[n];
  fft(re, im);
  const step = size / (2 * points);
  const mag = new Float64Array(points);
  for (let k = 0; k < points; k++) mag[k] = Math.hypot(re[k * step], im[k * step]);
  return mag;
}

function fullConvolve(a: Float64Array, b: Float64Array): Float64Array {
  return convolveRange(a, b, 0, a.length + b.length - 1);
}

/** genNotchCoeffs: nBands cascaded random band-stops, scaled so the peak gain is G dB, G ~ U(minG, maxG). */
export function notchCoeffs(rng: Rng, p: RawBoostParams, fs: number, minG = p.minG, maxG = p.maxG, trace?: RawBoostTrace): Float64Array {
  let b: Float64Array = Float64Array.of(1);
  for (let i = 0; i < p.nBands; i++) {
    const fc = randRange(rng, p.minF, p.maxF);
    const bw = randRange(rng, p.minBW, p.maxBW);
    let c = randRange(rng, p.minCoeff, p.maxCoeff, true);
    if (c % 2 === 0) c += 1;
    let f1 = fc - bw / 2;
    let f2 = fc + bw / 2;
    if (f1 <= 0) f1 = 1 / 1000;
    if (f2 >= fs / 2) f2 = fs / 2 - 1 / 1000;
    b = fullConvolve(firwinBandstop(c, f1, f2, fs), b);
  }
  const G = randRange(rng, minG, maxG);
  trace?.notchGainsDb?.push(G);
  const mag = freqzMagnitude(b);
  let peak = 0;
  for (const m of mag) peak = Math.max(peak, m);
  const scale = 10 ** (G / 20) / peak;
  for (let i = 0; i < b.length; i++) b[i] *= scale;
  return b;
}

/** filterFIR: causal FIR over x padded with N = len(b)+1 zeros, keeping y[N/2 … N/2 + len(x) − 1]. */
export function filterFIR(x: Float64Array, b: Float64Array): Float64Array {
  const N = b.length + 1;
  return convolveRange(x, b, Math.floor(N / 2), x.length);
}

/** Algorithm 1: linear and non-linear convolutive noise. */
export function lnl(x: Float64Array, rng: Rng, p: RawBoostParams = RAWBOOST_DEFAULTS, fs = 16000, trace?: RawBoostTrace): Float64Array {
  const y = new Float64Array(x.length);
  let minG = p.minG;
  let maxG = p.maxG;
  const pow = new Float64Array(x.length);
  for (let i = 0; i < p.N_f; i++) {
    if (i === 1) {
      minG -= p.minBiasLinNonLin;
      maxG -= p.maxBiasLinNonLin;
    }
    const b = notchCoeffs(rng, p, fs, minG, maxG, trace);
    for (let n = 0; n < x.length; n++) pow[n] = x[n] ** (i + 1);
    const f = filterFIR(pow, b);
    for (let n = 0; n < x.length; n++) y[n] += f[n];
  }
  let mean = 0;
  for (let n = 0; n < y.length; n++) mean += y[n];
  mean /= y.length || 1;
  for (let n = 0; n < y.length; n++) y[n] -= mean;
  return normWav(y, false);
}

/** Algorithm 2, before the final normWav: impulsive signal-dependent noise at int(len·β/100) positions. */
export function isdRaw(x: Float64Array, rng: Rng, p: RawBoostParams = RAWBOOST_DEFAULTS, trace?: RawBoostTrace): Float64Array {
  const beta = randRange(rng, 0, p.P);
  const y = x.slice();
  const n = Math.trunc(x.length * (beta / 100));
  const pos = rng.sampleWithoutReplacement(x.length, n);
  for (let i = 0; i < n; i++) {
    const f = (2 * rng.float() - 1) * (2 * rng.float() - 1);
    const q = pos[i];
    y[q] = x[q] + p.g_sd * x[q] * f;
  }
  if (trace) {
    trace.isdBeta = beta;
    trace.isdPositions = pos;
  }
  return y;
}

/** Algorithm 2: ISD followed by normWav(·, 0). */
export function isd(x: Float64Array, rng: Rng, p: RawBoostParams = RAWBOOST_DEFAULTS, trace?: RawBoostTrace): Float64Array {
  return normWav(isdRaw(x, rng, p, trace), false);
}

/** Algorithm 3: stationary signal-independent coloured additive noise at SNR ~ U(SNRmin, SNRmax) dB. */
export function ssi(x: Float64Array, rng: Rng, p: RawBoostParams = RAWBOOST_DEFAULTS, fs = 16000, trace?: RawBoostTrace): Float64Array {
  const w = new Float64Array(x.length);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal();
  const b = notchCoeffs(rng, p, fs, p.minG, p.maxG, trace);
  const noise = normWav(filterFIR(w, b), true);
  const snr = randRange(rng, p.SNRmin, p.SNRmax);
  if (trace) trace.ssiSnrDb = snr;
  let nx = 0;
  let nn = 0;
  for (let i = 0; i < x.length; i++) {
    nx += x[i] * x[i];
    nn += noise[i] * noise[i];
  }
  const scale = nn > 0 ? Math.sqrt(nx) / Math.sqrt(nn) / 10 ** (0.05 * snr) : 0;
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] + noise[i] * scale;
  return y;
}

/**
 * Applies RawBoost algorithm `algo` (0–8, table in spec data.md §4) to one utterance. Output length =
 * input length. Deterministic given the rng state.
 */
export function rawboost(
  x: Float32Array,
  algo: number,
  rng: Rng,
  params: Partial<RawBoostParams> = {},
  fs = 16000,
  trace?: RawBoostTrace,
): Float32Array {
  const p = { ...RAWBOOST_DEFAULTS, ...params };
  const v = Float64Array.from(x);
  let y: Float64Array;
  switch (algo) {
    case 0:
      y = v;
      break;
    case 1:
      y = lnl(v, rng, p, fs, trace);
      break;
    case 2:
      y = isd(v, rng, p, trace);
      break;
    case 3:
      y = ssi(v, rng, p, fs, trace);
      break;
    case 4:
      y = ssi(isd(lnl(v, rng, p, fs, trace), rng, p, trace), rng, p, fs, trace);
      break;
    case 5:
      y = isd(lnl(v, rng, p, fs, trace), rng, p, trace);
      break;
    case 6:
      y = ssi(lnl(v, rng, p, fs, trace), rng, p, fs, trace);
      break;
    case 7:
      y = ssi(isd(v, rng, p, trace), rng, p, fs, trace);
      break;
    case 8: {
      const a = lnl(v, rng, p, fs, trace);
      const b = isd(v, rng, p, trace);
      for (let i = 0; i < a.length; i++) a[i] += b[i];
      y = normWav(a, false);
      break;
    }
    default:
      throw new RangeError(`RawBoost algorithm must be 0–8, got ${algo}`);
  }
  return Float32Array.from(y);
}
