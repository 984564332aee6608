// Experiment (issue 15, training golden drift on llvmpipe): how far the adapter's transcendental functions
// are from float64, in units in the last place of f32, over values like those in training.
//   SPOOFSCAN_ADAPTER=gles|swiftshader npx tsx scripts/experiments/unary-precision.ts
import { initEngine, tensor } from '../../engine/node.ts';
import { exp, gelu, log, rsqrt, sigmoid, sqrt, tanh } from '../../kernels/index.ts';

const ulp = (x: number): number => {
  const f = new Float32Array([Math.abs(x)]);
  const u = new Uint32Array(f.buffer);
  u[0] += 1;
  return f[0] - Math.abs(Math.fround(x)) || 1.4e-45;
};

const erf = (x: number): number => {
  // float64 erf (Abramowitz–Stegun 7.1.26 is too coarse): series / continued fraction via high-precision sum
  const t = Math.abs(x);
  let sum = 0;
  let term = t;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-t * t) / (n + 1);
    if (Math.abs(term) < 1e-20) break;
  }
  const r = (2 / Math.sqrt(Math.PI)) * sum;
  return x < 0 ? -r : r;
};

async function main(): Promise<void> {
  const engine = await initEngine(undefined, { quiet: true });
  console.log(engine.describe());
  const n = 1 << 16;
  const wide = Float32Array.from({ length: n }, (_, i) => Math.fround(-20 + (40 * i) / n));
  const pos = Float32Array.from({ length: n }, (_, i) => Math.fround(1e-6 * Math.pow(1e12, i / n)));
  const small = Float32Array.from({ length: n }, (_, i) => Math.fround(-6 + (12 * i) / n));
  const cases: [string, Float32Array, (t: ReturnType<typeof tensor>) => ReturnType<typeof tensor>, (x: number) => number][] = [
    ['exp', wide, exp, Math.exp],
    ['log', pos, log, Math.log],
    ['sqrt', pos, sqrt, Math.sqrt],
    ['rsqrt', pos, rsqrt, (x) => 1 / Math.sqrt(x)],
    ['tanh', small, tanh, Math.tanh],
    ['sigmoid', wide, sigmoid, (x) => 1 / (1 + Math.exp(-x))],
    ['gelu', small, gelu, (x) => 0.5 * x * (1 + erf(x / Math.SQRT2))],
  ];
  for (const [name, xs, op, ref] of cases) {
    const y = op(tensor(xs, [n]));
    const got = (await y.data()) as Float32Array;
    let maxUlp = 0;
    let at = 0;
    let meanUlp = 0;
    for (let i = 0; i < n; i++) {
      const r = ref(xs[i]);
      if (!Number.isFinite(r) || Math.abs(r) < 1e-30) continue;
      const e = Math.abs(got[i] - r) / ulp(r);
      meanUlp += e / n;
      if (e > maxUlp) {
        maxUlp = e;
        at = xs[i];
      }
    }
    console.log(`${name.padEnd(8)} max ${maxUlp.toFixed(1)} ulp (at x = ${at.toPrecision(4)}), mean ${meanUlp.toFixed(2)} ulp`);
  }
  process.exit(0);
}

void main();
