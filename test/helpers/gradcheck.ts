// Finite-difference gradient checks of the engine's backward, run on the GPU in float32.
// One backward of L = Σ w·f(x) (w random, fixed) checks every output element at once; the numeric
// side perturbs each input element by ±h and evaluates L on the host in float64.
import { backward, noGrad, requiresGrad, tidy, type Tensor } from '../../engine/node.ts';
import { expectClose } from './close.ts';
import { fromNd } from './engine.ts';
import { randomNd, sizeOf, type Nd } from '../reference/nd.ts';

export interface GradcheckOptions {
  /** Finite-difference step (float32 forward: 1e-2..1e-3 balances rounding against truncation). */
  step?: number;
  rtol?: number;
  atol?: number;
  /** Seed of the output weights w. */
  seed?: number;
  label?: string;
}

export interface GradcheckResult {
  /** backward()'s gradient of each input (zeros where it gave none). */
  analytic: Float64Array[];
  numeric: Float64Array[];
  /** The output weights w, i.e. the gradient fed to backward(). */
  weights: Nd;
}

function weightedSum(y: ArrayLike<number>, w: Float64Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * y[i];
  return s;
}

/**
 * Checks d(Σ w·fn(inputs))/d(inputs) from backward() against central differences.
 * `fn` must build its output from the tensors it is given (other operands it may close over).
 * Defaults: step 1e-2, rtol 1e-2, atol 2e-3 — float32 rounding of L divided by 2h stays below
 * ~1e-4 for the small (≤ ~60 element) outputs used here, and O(h²) truncation below ~1e-3.
 */
export async function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Nd[], o: GradcheckOptions = {}): Promise<GradcheckResult> {
  const h = o.step ?? 1e-2;
  const tol = { rtol: o.rtol ?? 1e-2, atol: o.atol ?? 2e-3 };
  const label = o.label ?? 'gradcheck';

  // Analytic: one backward with the weights as the output gradient.
  const leaves = inputs.map((a) => requiresGrad(fromNd(a)));
  const y = fn(...leaves);
  const w = randomNd(y.shape, o.seed ?? 1234, { lo: -1, hi: 1 });
  const wt = fromNd(w);
  backward(y, wt);
  const analytic: Float64Array[] = [];
  for (let k = 0; k < leaves.length; k++) {
    const g = leaves[k].grad;
    if (g && (g.shape.length !== inputs[k].shape.length || g.shape.some((d, i) => d !== inputs[k].shape[i]))) {
      throw new Error(`${label}: gradient of input ${k} has shape [${g.shape.join(', ')}], expected [${inputs[k].shape.join(', ')}]`);
    }
    analytic.push(g ? Float64Array.from(await g.data()) : new Float64Array(sizeOf(inputs[k].shape)));
  }
  for (const t of [...leaves, ...leaves.map((l) => l.grad), y, wt]) t?.dispose();

  // Numeric: all ±h evaluations of one input are queued before any readback.
  const numeric: Float64Array[] = [];
  for (let k = 0; k < inputs.length; k++) {
    const n = inputs[k].data.length;
    const steps: number[] = [];
    const outs: Tensor[] = [];
    for (let j = 0; j < n; j++) {
      const x0 = inputs[k].data[j];
      const hi = Math.fround(x0 + h);
      const lo = Math.fround(x0 - h);
      steps.push(hi - lo); // the exact float32 distance between the two evaluation points
      for (const v of [hi, lo]) {
        const data = inputs[k].data.slice();
        data[j] = v;
        const xs = inputs.map((a, i) => (i === k ? { shape: a.shape, data } : a));
        outs.push(noGrad(() => tidy(() => fn(...xs.map((a) => fromNd(a))))));
      }
    }
    const values = await Promise.all(outs.map((t) => t.data()));
    for (const t of outs) t.dispose();
    const num = new Float64Array(n);
    for (let j = 0; j < n; j++) num[j] = (weightedSum(values[2 * j], w.data) - weightedSum(values[2 * j + 1], w.data)) / steps[j];
    numeric.push(num);
    expectClose(analytic[k], num, tol, `${label}: d/d(input ${k}) analytic vs numeric`, inputs[k].shape);
  }
  return { analytic, numeric, weights: w };
}
