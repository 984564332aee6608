// Counter-based random numbers shared by GPU kernels and the host. A value is a pure function of
// (seed, three counter words), so Node, the browser and a backward pass that regenerates a dropout
// mask all see the same bits, with no RNG state to store. Only u32 xor/shift/wrapping multiply is
// used: WGSL u32 arithmetic and JS Math.imul agree bit for bit.
//
// Use in WGSL: paste RNG_WGSL into the shader, then
//   let h = rng_hash(u.seed, a, b, c);        // u32
//   let keep = rng_keep(h, u.dropThreshold);  // bool, P(keep) = 1 − p
// with dropThreshold = dropThreshold(p) passed as a u32 uniform.

export const RNG_WGSL = /* wgsl */ `
fn rng_lowbias(x0: u32) -> u32 {
  var x = x0;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}
fn rng_hash(seed: u32, a: u32, b: u32, c: u32) -> u32 {
  var h = rng_lowbias(seed + 0x9e3779b9u);
  h = rng_lowbias(h ^ a);
  h = rng_lowbias(h ^ b);
  h = rng_lowbias(h ^ c);
  return h;
}
// Uniform in [0, 1) with 24 bits (exact in f32).
fn rng_uniform(h: u32) -> f32 { return f32(h >> 8u) * (1.0 / 16777216.0); }
fn rng_keep(h: u32, threshold: u32) -> bool { return (h >> 8u) >= threshold; }
`;

function lowbias(x0: number): number {
  let x = x0 >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x;
}

/** Host mirror of WGSL `rng_hash`. */
export function rngHash(seed: number, a: number, b: number, c: number): number {
  let h = lowbias((seed + 0x9e3779b9) >>> 0);
  h = lowbias((h ^ a) >>> 0);
  h = lowbias((h ^ b) >>> 0);
  h = lowbias((h ^ c) >>> 0);
  return h;
}

/** Host mirror of WGSL `rng_uniform`. */
export function rngUniform(h: number): number {
  return (h >>> 8) / 16777216;
}

/** The integer threshold for dropout probability p: an element is dropped iff (h >> 8) < threshold. */
export function dropThreshold(p: number): number {
  return Math.round(p * 16777216);
}

/** Host mirror of WGSL `rng_keep`. */
export function rngKeep(h: number, threshold: number): boolean {
  return h >>> 8 >= threshold;
}

/** Validates a dropout probability (named op in the error) and returns the kept-value scale 1/(1−p). */
export function dropoutScale(op: string, p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`${op}: dropout probability ${p} must be in [0, 1)`);
  return 1 / (1 - p);
}

/** Seeds must be u32 integers so that the GPU and the host hash the same word. */
export function checkSeed(op: string, seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`${op}: seed ${seed} must be an integer in [0, 2^32)`);
  return seed >>> 0;
}
