// Band-limited resampling: the torchaudio `sinc_interp_hann` polyphase windowed-sinc definition
// (spec data.md §1), so goldens can come from torchaudio.functional.resample. `sinc_interp_kaiser`
// (torchaudio's other window, β = 14.769656459379492) is available as an option. Never linear.
//
//   g = gcd(orig, new); o = orig/g; n = new/g
//   base = min(o, n)·rolloff;  width = ceil(lpw·o/base)
//   h[p][k] = sinc(t)·window(t)·base/o,  t = clamp(((k − width)/o − p/n)·base, −lpw, lpw)
//   y[j·n + p] = Σ_k h[p][k]·x[j·o + k − width]   (zero outside the input)
//   output length = ceil(n·L/o)
//
// Only the taps with |t| < lpw are non-zero; each phase stores just that span, so odd rate pairs
// (e.g. 44,101 → 16,000) cost the same as simple ones.

export type ResampleWindow = 'hann' | 'kaiser';

export interface ResampleOptions {
  window?: ResampleWindow; // default 'hann'
  lowpassFilterWidth?: number; // zero crossings each side; default 6
  rolloff?: number; // cutoff as a fraction of the lower Nyquist; default 0.99
  beta?: number; // Kaiser β; default 14.769656459379492 (torchaudio)
}

export const TARGET_RATE = 16000;
/** Highest rate the resampler accepts (limits.ts MAX_SAMPLE_RATE): keeps the filter table to tens of MB. */
const MAX_RATE = 768_000;
const KAISER_BETA = 14.769656459379492;

/** The name to record with results (spec data.md §1: "record the resampler name"). */
export function resamplerName(opts: ResampleOptions = {}): string {
  const w = opts.window ?? 'hann';
  const lpw = opts.lowpassFilterWidth ?? 6;
  const ro = opts.rolloff ?? 0.99;
  return `sinc_interp_${w}(lowpass_filter_width=${lpw}, rolloff=${ro}${w === 'kaiser' ? `, beta=${opts.beta ?? KAISER_BETA}` : ''})`;
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export function besselI0(x: number): number {
  // Power series; converges quickly for the β range used here.
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

export interface PolyphaseKernel {
  o: number; // reduced input rate
  n: number; // reduced output rate
  width: number;
  /** Per phase p: first tap index k0[p] and the taps h[p][k0 .. k0 + len − 1]. */
  k0: Int32Array;
  taps: Float64Array[];
}

const kernelCache = new Map<string, PolyphaseKernel>();

export function resampleKernel(orig: number, next: number, opts: ResampleOptions = {}): PolyphaseKernel {
  const window = opts.window ?? 'hann';
  const lpw = opts.lowpassFilterWidth ?? 6;
  const rolloff = opts.rolloff ?? 0.99;
  const beta = opts.beta ?? KAISER_BETA;
  const key = `${orig}/${next}/${window}/${lpw}/${rolloff}/${beta}`;
  const hit = kernelCache.get(key);
  if (hit) return hit;
  if (!(Number.isInteger(orig) && Number.isInteger(next) && orig > 0 && next > 0 && orig <= MAX_RATE && next <= MAX_RATE))
    throw new RangeError(`resample: rates must be integers from 1 to ${MAX_RATE} Hz (got ${orig} → ${next})`);
  if (!(lpw > 0 && lpw <= 1024 && rolloff > 0 && rolloff <= 1))
    throw new RangeError(`resample: lowpass_filter_width must be in (0, 1024] and rolloff in (0, 1] (got ${lpw}, ${rolloff})`);
  const g = gcd(orig, next);
  const o = orig / g;
  const n = next / g;
  const base = Math.min(o, n) * rolloff;
  const width = Math.ceil((lpw * o) / base);
  const kMax = 2 * width + o - 1;
  // Table size: n phases × about 2·reach + 1 taps. Bounded for rates ≤ 768 kHz, but refuse anything absurd.
  if (n * (2 * ((lpw * o) / base) + 2) > 2 ** 26) throw new RangeError(`resample: ${orig} → ${next} Hz needs a filter table too large to build`);
  const scale = base / o;
  const i0b = besselI0(beta);
  const k0 = new Int32Array(n);
  const taps: Float64Array[] = [];
  const reach = (lpw * o) / base; // |k − width − o·p/n| < reach ⇔ |t| < lpw
  for (let p = 0; p < n; p++) {
    const centre = width + (o * p) / n;
    const lo = Math.max(0, Math.floor(centre - reach));
    const hi = Math.min(kMax, Math.ceil(centre + reach));
    const h = new Float64Array(hi - lo + 1);
    for (let k = lo; k <= hi; k++) {
      let t = ((k - width) / o - p / n) * base;
      t = Math.max(-lpw, Math.min(lpw, t));
      const w =
        window === 'hann'
          ? Math.cos((Math.PI * t) / lpw / 2) ** 2
          : besselI0(beta * Math.sqrt(Math.max(0, 1 - (t / lpw) ** 2))) / i0b;
      const s = t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
      h[k - lo] = s * w * scale;
    }
    k0[p] = lo;
    taps.push(h);
  }
  const kernel = { o, n, width, k0, taps };
  if (kernelCache.size > 64) kernelCache.clear();
  kernelCache.set(key, kernel);
  return kernel;
}

/** Number of output samples for `length` input samples. */
export function resampledLength(length: number, orig: number, next: number): number {
  if (orig === next) return length;
  const g = gcd(orig, next);
  return Math.ceil(((next / g) * length) / (orig / g));
}

/** Resamples one channel from `orig` Hz to `next` Hz. Equal rates return a copy. */
export function resample(x: Float32Array, orig: number, next: number, opts: ResampleOptions = {}): Float32Array {
  if (orig === next) return x.slice();
  const { o, n, width, k0, taps } = resampleKernel(orig, next, opts);
  const L = x.length;
  const outLen = resampledLength(L, orig, next);
  const y = new Float32Array(outLen);
  for (let p = 0; p < n; p++) {
    const h = taps[p];
    const hl = h.length;
    const kStart = k0[p];
    for (let j = 0, idx = p; idx < outLen; j++, idx += n) {
      // x index for tap k: j·o + k − width
      const m0 = j * o + kStart - width;
      let a = 0;
      let b = hl;
      if (m0 < 0) a = -m0;
      if (m0 + b > L) b = L - m0;
      let acc = 0;
      for (let k = a; k < b; k++) acc += h[k] * x[m0 + k];
      y[idx] = acc;
    }
  }
  return y;
}
