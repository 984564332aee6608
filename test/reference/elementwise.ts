// Float64 references for the elementwise ops of kernels/elementwise.ts, with their derivatives
// (used to state what the engine's backward must equal where finite differences are not enough).
import { map, zipWith, type Nd } from './nd.ts';

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/**
 * erf to ~1e-15 by the everywhere-positive series erf(x) = 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1))
 * (no cancellation); |erf(x)| rounds to 1 in float64 beyond |x| = 6.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x);
  if (z >= 6) return Math.sign(x);
  let term = z;
  let sum = z;
  for (let n = 1; n < 500 && term > 1e-17 * sum; n++) {
    term *= (2 * z * z) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
}

export const unaryRef = {
  neg: (x: number) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x: number) => 1 / Math.sqrt(x),
  abs: Math.abs,
  tanh: Math.tanh,
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  relu: (x: number) => Math.max(x, 0),
  gelu: (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  selu: (x: number) => (x > 0 ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * (Math.exp(x) - 1)),
} as const;

export type UnaryName = keyof typeof unaryRef;

/** d/dx of each unary op (away from kinks). */
export const unaryDerivRef: Record<UnaryName, (x: number) => number> = {
  neg: () => -1,
  exp: Math.exp,
  log: (x) => 1 / x,
  sqrt: (x) => 0.5 / Math.sqrt(x),
  rsqrt: (x) => -0.5 * x ** -1.5,
  abs: (x) => Math.sign(x),
  tanh: (x) => 1 - Math.tanh(x) ** 2,
  sigmoid: (x) => {
    const s = 1 / (1 + Math.exp(-x));
    return s * (1 - s);
  },
  relu: (x) => (x > 0 ? 1 : 0),
  gelu: (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
  selu: (x) => (x > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * Math.exp(x)),
};

export function unary(name: UnaryName, x: Nd): Nd {
  return map(x, unaryRef[name]);
}

export const affine = (x: Nd, a: number, b = 0): Nd => map(x, (v) => v * a + b);
/** Math.pow matches the engine's PyTorch-like rule: x^0 = 1, negative bases only for integer exponents. */
export const powScalar = (x: Nd, p: number): Nd => map(x, (v) => Math.pow(v, p));

export const binaryRef = {
  add: (a: number, b: number) => a + b,
  sub: (a: number, b: number) => a - b,
  mul: (a: number, b: number) => a * b,
  div: (a: number, b: number) => a / b,
  pow: (a: number, b: number) => Math.pow(a, b),
  maximum: (a: number, b: number) => Math.max(a, b),
  minimum: (a: number, b: number) => Math.min(a, b),
  eq: (a: number, b: number) => Number(a === b),
  ne: (a: number, b: number) => Number(a !== b),
  lt: (a: number, b: number) => Number(a < b),
  le: (a: number, b: number) => Number(a <= b),
  gt: (a: number, b: number) => Number(a > b),
  ge: (a: number, b: number) => Number(a >= b),
} as const;

export type BinaryName = keyof typeof binaryRef;

export function binary(name: BinaryName, a: Nd, b: Nd): Nd {
  return zipWith([a, b], binaryRef[name]);
}

export function where(cond: Nd, a: Nd, b: Nd): Nd {
  return zipWith([cond, a, b], (c, x, y) => (c !== 0 ? x : y));
}

export function maskedFill(x: Nd, mask: Nd, value: number): Nd {
  return zipWith([mask, x], (m, v) => (m !== 0 ? value : v));
}
