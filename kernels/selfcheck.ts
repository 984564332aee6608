// A start-up self-check of an engine (default: the current one): a few kernels against host references, chosen to
// catch an adapter that compiles our WGSL but computes it wrongly (llvmpipe's reordered workgroup
// loads made layerNorm 2–4 % wrong while everything else passed). Runs in ~0.1–0.5 s, compile included.
// Loading this module registers the check with the engine (engine/self-check.ts), which initEngine runs.
import { tidy } from '../engine/scope.ts';
import { registerSelfCheck, type SelfCheckItem, type SelfCheckResult } from '../engine/self-check.ts';
import { getEngine, type Engine } from '../engine/runtime.ts';
import { isTensor, tensor as upload, type DType, type Tensor } from '../engine/tensor.ts';
import { matmul } from './matmul.ts';
import { sum } from './reduce.ts';
import { layerNorm } from './norm.ts';

export { describeSelfCheck, type SelfCheckItem, type SelfCheckResult } from '../engine/self-check.ts';

/** Deterministic values in [-3, 3) (no RNG kernel involved). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 6 - 3;
  }
  return out;
}

/** Host LayerNorm in float64. */
export function layerNormHost(x: Float32Array, w: Float32Array, b: Float32Array, C: number, eps = 1e-5): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[r * C + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[r * C + c] - m) ** 2;
    const rstd = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c] - m) * rstd * w[c] + b[c];
  }
  return y;
}

/** Runs the checks on `engine` (default: the current one); never throws for a wrong result (GPU errors do throw). */
export async function selfCheck(engine: Engine = getEngine()): Promise<SelfCheckResult> {
  const tensor = (v: ArrayLike<number>, shape: readonly number[], dtype?: DType): Tensor => upload(v, shape, dtype, engine);
  const t0 = performance.now();
  const items: SelfCheckItem[] = [];

  // 1. matmul + sum with an exact answer.
  const mm = tidy(() => sum(matmul(tensor([1, 2, 3, 4, 5, 6], [2, 3]), tensor([1, 0, 0, 1, 1, 1], [3, 2]))), isTensor);
  const got = await mm.item();
  mm.dispose();
  items.push({ name: 'matmul + sum', ok: got === 30, detail: `= ${got}, expected 30` });

  // 2. LayerNorm over rows of odd and even widths (one workgroup per row, two workgroup reductions).
  const R = 4;
  const C = 300;
  const x = values(R * C, 1);
  const w = values(C, 2).map((v) => 1 + v / 6);
  const b = values(C, 3).map((v) => v / 6);
  const ln = tidy(() => layerNorm(tensor(x, [R, C]), tensor(w, [C]), tensor(b, [C])), isTensor);
  const y = await ln.data();
  ln.dispose();
  const ref = layerNormHost(x, w, b, C);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Number.isFinite(y[i]) ? Math.abs(y[i] - ref[i]) : Infinity);
  items.push({ name: 'layerNorm', ok: worst <= 1e-4, detail: `[${R}, ${C}] max |error| ${worst.toExponential(1)} against a float64 host reference (allowed 1e-4)` });

  // 3. A long sum (workgroup tree reduction): integers, so the answer is exact in f32.
  const n = 10_000;
  const ints = Float32Array.from({ length: n }, (_, i) => (i % 7) - 3);
  let expected = 0;
  for (const v of ints) expected += v;
  const s = tidy(() => sum(tensor(ints, [n])), isTensor);
  const total = await s.item();
  s.dispose();
  items.push({ name: 'long sum', ok: total === expected, detail: `of ${n} values = ${total}, expected ${expected}` });

  return { ok: items.every((i) => i.ok), items, ms: performance.now() - t0 };
}

registerSelfCheck(selfCheck);
