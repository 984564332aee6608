// Radix-2 complex FFT and FFT-based linear convolution (overlap-add), for RawBoost's long FIR
// filters and for spectral measurements in tests. Float64 throughout.

const twiddleCache = new Map<number, { cos: Float64Array; sin: Float64Array }>();

/** cos and sin of 2πk/n for k < n/2, cached per size. */
function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  let t = twiddleCache.get(n);
  if (!t) {
    const h = Math.max(1, n >> 1);
    t = { cos: new Float64Array(h), sin: new Float64Array(h) };
    for (let k = 0; k < h; k++) {
      t.cos[k] = Math.cos((2 * Math.PI * k) / n);
      t.sin[k] = Math.sin((2 * Math.PI * k) / n);
    }
    twiddleCache.set(n, t);
  }
  return t;
}

/** In-place iterative radix-2 FFT of (re, im); length must be a power of two. inverse=true scales by 1/n. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (n & (n - 1)) throw new RangeError(`fft: length ${n} is not a power of two`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  const { cos, sin } = twiddles(n);
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = n / len; // twiddle k of this stage = e^{∓2πik/len} = table[k·step]
    for (let k = 0; k < half; k++) {
      const wr = cos[k * step];
      const wi = sign * sin[k * step];
      for (let i = k; i < n; i += len) {
        const j = i + half;
        const xr = re[j] * wr - im[j] * wi;
        const xi = re[j] * wi + im[j] * wr;
        re[j] = re[i] - xr;
        im[j] = im[i] - xi;
        re[i] += xr;
        im[i] += xi;
      }
    }
  }
  if (inverse)
    for (let i = 0; i < n; i++) {
      re[i] /= n;
      im[i] /= n;
    }
}

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/**
 * Entries [start, start + count) of the full linear convolution x ⊛ b (length x.length + b.length − 1;
 * entries past it are 0). Direct for short filters, FFT overlap-add otherwise.
 */
export function convolveRange(x: ArrayLike<number>, b: ArrayLike<number>, start: number, count: number): Float64Array {
  const out = new Float64Array(count);
  const lx = x.length;
  const lb = b.length;
  if (lb <= 64 || lx <= 64) {
    for (let i = 0; i < count; i++) {
      const n = start + i;
      let acc = 0;
      const kLo = Math.max(0, n - lx + 1);
      const kHi = Math.min(lb - 1, n);
      for (let k = kLo; k <= kHi; k++) acc += b[k] * x[n - k];
      out[i] = acc;
    }
    return out;
  }
  const size = nextPow2(Math.max(8 * lb, 4096));
  const block = size - lb + 1;
  const bre = new Float64Array(size);
  const bim = new Float64Array(size);
  for (let k = 0; k < lb; k++) bre[k] = b[k];
  fft(bre, bim);
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  const end = start + count;
  // Only input blocks that can touch [start, end) are needed: block at s covers outputs [s, s + size − 1).
  const firstBlock = Math.max(0, Math.floor((start - lb + 1) / block)) * block;
  for (let s = firstBlock; s < lx && s < end; s += block) {
    re.fill(0);
    im.fill(0);
    const m = Math.min(block, lx - s);
    for (let i = 0; i < m; i++) re[i] = x[s + i];
    fft(re, im);
    for (let i = 0; i < size; i++) {
      const r = re[i] * bre[i] - im[i] * bim[i];
      im[i] = re[i] * bim[i] + im[i] * bre[i];
      re[i] = r;
    }
    fft(re, im, true);
    const lo = Math.max(s, start);
    const hi = Math.min(s + m + lb - 1, end);
    for (let n = lo; n < hi; n++) out[n - start] += re[n - s];
  }
  return out;
}
