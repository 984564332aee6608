// Experiment (issue 15): where one XLS-R 300M encoder layer spends its time on this adapter at T = 201
// (a 4.04 s clip): the op groups of the layer timed apart, wall and process CPU time, N layers' worth.
//   SPOOFSCAN_ADAPTER=gles npx tsx scripts/experiments/xlsr-layer-profile.ts [reps]
import { initEngine, noGrad, randn, type Tensor } from '../../engine/node.ts';
import { add, attention, gelu, layerNorm, matmulRaw, permute, reshape } from '../../kernels/index.ts';

const T = 201;
const E = 1024;
const F = 4096;
const H = 16;
const REPS = Number(process.argv[2] ?? 3);

async function main(): Promise<void> {
  const engine = await initEngine(undefined, { quiet: true });
  console.log(`${engine.describe()}; T = ${T}, ${REPS} reps per group`);
  const x = randn([1, T, E], 1);
  const w = randn([E, E], 2, 0.03);
  const w1 = randn([F, E], 3, 0.03);
  const w2 = randn([E, F], 4, 0.03);
  const h = randn([1, T, F], 5);
  const qh = randn([1, H, T, E / H], 6);
  const ln = randn([E], 7);
  const bias = randn([E], 8);
  await engine.sync();
  const groups: [string, number, () => Tensor][] = [
    ['q/k/v/out projections (4× 201·1024·1024, Wᵀ)', 4, () => matmulRaw(x, w, { transB: true })],
    ['fc1 (201·4096·1024, Wᵀ)', 1, () => matmulRaw(x, w1, { transB: true })],
    ['fc2 (201·1024·4096, Wᵀ)', 1, () => matmulRaw(h, w2, { transB: true })],
    ['attention core (16 heads, 201², d 64)', 1, () => attention(qh, qh, qh)],
    ['split/merge heads (4 permutes)', 4, () => permute(reshape(x, [1, T, H, E / H]), [0, 2, 1, 3])],
    ['layer norms (2×)', 2, () => layerNorm(x, ln, bias)],
    ['gelu on [201, 4096]', 1, () => gelu(h)],
    ['bias and residual adds (~8 on [201,1024])', 8, () => add(x, bias)],
  ];
  const rows: { name: string; wall: number; cpu: number }[] = [];
  for (const [name, perLayer, fn] of groups) {
    noGrad(() => fn()).dispose(); // compile
    await engine.sync();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < REPS; r++) for (let i = 0; i < perLayer; i++) noGrad(() => fn()).dispose();
    await engine.sync();
    const wall = (performance.now() - t0) / REPS;
    const c = process.cpuUsage(c0);
    rows.push({ name, wall, cpu: (c.user + c.system) / 1e3 / REPS });
  }
  const total = rows.reduce((a, r) => a + r.cpu, 0);
  for (const r of rows) console.log(`${r.name.padEnd(48)} ${r.wall.toFixed(1).padStart(8)} ms wall ${r.cpu.toFixed(1).padStart(8)} ms CPU ${((100 * r.cpu) / total).toFixed(0).padStart(3)} %`);
  console.log(`one layer: ${rows.reduce((a, r) => a + r.wall, 0).toFixed(0)} ms wall, ${total.toFixed(0)} ms CPU; × 24 layers = ${((24 * total) / 1e3).toFixed(1)} s CPU`);
  process.exit(0);
}

void main();
