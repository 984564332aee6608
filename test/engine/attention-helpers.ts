// Shared helpers of the attention tests: host ↔ engine conversion, tolerance checks and a
// directional finite-difference check of a kernel's gradient.
import { expect } from 'vitest';
import { backward, noGrad, requiresGrad, tensor, type Tensor } from '../../engine/node.ts';
import { randomNd, type Nd } from '../reference/nd.ts';

export function toTensor(a: Nd, grad = false): Tensor {
  const t = tensor(Float32Array.from(a.data), a.shape);
  return grad ? requiresGrad(t) : t;
}

/** |got − want| ≤ atol + rtol·|want| elementwise, naming the first failing index. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, label: string, atol = 1e-4, rtol = 1e-4): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    if (w === -Infinity && g === -Infinity) continue;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) {
      throw new Error(`${label}: element ${i} is ${g}, expected ${w} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/**
 * Checks ⟨∇_X L, d⟩ against (L(X + εd) − L(X − εd)) / 2ε for L = Σ R ⊙ f(inputs), perturbing input
 * `which` along a random direction d; the engine's gradient comes from backward().
 */
export async function directionalCheck(
  f: (inputs: Tensor[]) => Tensor,
  inputs: Nd[],
  which: number,
  seed: number,
  eps = 1e-2,
  rtol = 2e-2,
): Promise<void> {
  const ts = inputs.map((a, i) => toTensor(a, i === which));
  const out = f(ts);
  const R = randomNd(out.shape, seed);
  backward(out, toTensor(R));
  const grad = await ts[which].grad!.data();
  const d = randomNd(inputs[which].shape, seed + 1);
  let analytic = 0;
  for (let i = 0; i < grad.length; i++) analytic += grad[i] * d.data[i];
  const lossAt = async (sign: number): Promise<number> => {
    const moved: Nd = { shape: inputs[which].shape, data: inputs[which].data.map((x, i) => x + sign * eps * d.data[i]) };
    const y = noGrad(() => f(inputs.map((a, i) => toTensor(i === which ? moved : a))));
    const v = await y.data();
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * R.data[i];
    return s;
  };
  const numeric = ((await lossAt(1)) - (await lossAt(-1))) / (2 * eps);
  expect(Math.abs(analytic - numeric), `input ${which}: analytic ${analytic} vs numeric ${numeric}`).toBeLessThanOrEqual(rtol * (1 + Math.abs(numeric)));
}

/** Central finite differences of a float64 scalar function, elementwise, against an analytic gradient. */
export function expectFdGradient(loss: (x: Nd) => number, x: Nd, grad: Nd, label: string, eps = 1e-6, tol = 1e-6): void {
  for (let i = 0; i < x.data.length; i++) {
    const at = (delta: number) => {
      const y: Nd = { shape: x.shape, data: Float64Array.from(x.data) };
      y.data[i] += delta;
      return loss(y);
    };
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    if (Math.abs(numeric - grad.data[i]) > tol * (1 + Math.abs(numeric))) {
      throw new Error(`${label}: element ${i}: analytic ${grad.data[i]} vs finite difference ${numeric}`);
    }
  }
}

/** Σ R ⊙ out in float64. */
export function dotNd(a: Nd | Float64Array, r: Nd): number {
  const data = a instanceof Float64Array ? a : a.data;
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i] * r.data[i];
  return s;
}
