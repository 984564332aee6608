// `spoofscan bench matmul`: GFLOP/s of every matmul variant side by side on square sizes and the
// XLS-R feed-forward shapes (forward and the two backward products), with correctness checked
// against the naive kernel, a readable table and a JSON record (docs/bench.md).
import { parseArgs } from 'node:util';
import { randn, type Engine, type Tensor } from '../engine/node.ts';
import { defaultVariant, matmulGeometry, matmulRaw } from '../kernels/matmul.ts';
import { MATMUL_VARIANTS, planMatmul, type BlockedTile, type LanesTile, type MatmulTile, type MatmulVariant } from '../kernels/matmul-kernels.ts';
import { modesKey } from '../kernels/matmul-common.ts';
import { UserError } from '../common/errors.ts';
import { Progress } from '../common/progress.ts';
import {
  COMMON_OPTIONS,
  DEFAULT_TIMING,
  finishEnvironment,
  fmt,
  formatTable,
  openBenchEngine,
  QUICK_TIMING,
  saveRecord,
  timeSideBySide,
  timingFrom,
  type Candidate,
  type CandidateTiming,
  type TimingOptions,
} from './lib/harness.ts';

export const summary = 'matmul GFLOP/s per kernel variant (square sizes and XLS-R shapes)';

export const usage = `usage: spoofscan bench matmul [--sizes LIST] [--variants LIST] [--tiles LIST] [--lanes-tiles LIST]
                              [--texture-tiles LIST] [--quick]
                              [--budget SECONDS] [--adapter auto|default|swiftshader|gles] [--json FILE]

  --sizes LIST     comma-separated cases (default 256,512,1024,xlsr; with --quick 256,512):
                     N          square N×N·N×N
                     MxNxK      C[M,N] = A[M,K]·B[K,N]; append :nt, :tn or :tt for transposed B, A or both
                     xlsr       XLS-R fc1 at T = 201: forward 201x4096x1024, and the backward
                                products dX = dY·Wᵀ (201x1024x4096:nt) and dW = Xᵀ·dY (1024x4096x201:tn)
  --variants LIST  kernels to compare (default naive,blocked,tiled,lanes,texture)
  --tiles LIST     extra 'blocked' register tiles to compare, e.g. 8x8w8x4,16x8w8x4
                   (rows x cols per invocation, w workgroup x by y)
  --lanes-tiles L  extra 'lanes' tiles to compare, e.g. 16x4w16,32x4w8 (rows per workgroup x
                   columns per invocation, w invocations per workgroup)
  --texture-tiles L  extra 'texture' tiles to compare, e.g. 24x32w8,32x48w8 (rows x cols per
                   invocation, w invocations per workgroup)
  --quick          1 warm-up, ≥1 timed run, 0.3 s per candidate; writes JSON only with --json
  --budget S       timed seconds per candidate and case (default 2; at least 3 runs are always taken)
  --adapter A      which WebGPU adapter to open (default: SPOOFSCAN_ADAPTER or auto)
  --json FILE      where to write the JSON record (default bench-out/matmul-<adapter>.json; the committed bench/results/ files change only when named here)`;

export interface MatmulCase {
  label: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

const XLSR_T = 201;

export function parseCases(list: string): MatmulCase[] {
  const out: MatmulCase[] = [];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (raw === 'xlsr') {
      out.push(
        { label: 'xlsr fc1 fwd X·W', M: XLSR_T, N: 4096, K: 1024, transA: false, transB: false },
        { label: 'xlsr fc1 dX=dY·Wᵀ', M: XLSR_T, N: 1024, K: 4096, transA: false, transB: true },
        { label: 'xlsr fc1 dW=Xᵀ·dY', M: 1024, N: 4096, K: XLSR_T, transA: true, transB: false },
      );
      continue;
    }
    const m = /^(\d+)(?:x(\d+)x(\d+))?(?::(nn|nt|tn|tt))?$/.exec(raw);
    if (!m) throw new UserError(`bench matmul: --sizes entry '${raw}' is not N, MxNxK[:nt|tn|tt] or xlsr`);
    const M = Number(m[1]);
    const N = m[2] ? Number(m[2]) : M;
    const K = m[3] ? Number(m[3]) : M;
    if (![M, N, K].every((d) => d >= 1 && d <= 65536)) throw new UserError(`bench matmul: --sizes entry '${raw}' needs dimensions between 1 and 65536`);
    const t = m[4] ?? 'nn';
    out.push({ label: m[2] ? raw : `${M}³`, M, N, K, transA: t[0] === 't', transB: t[1] === 't' });
  }
  if (!out.length) throw new UserError('bench matmul: --sizes is empty');
  return out;
}

export function parseTile(s: string): BlockedTile {
  const m = /^(\d+)x(\d+)w(\d+)x(\d+)$/.exec(s.trim());
  if (!m) throw new UserError(`bench matmul: --tiles entry '${s}' is not TMxTNwWXxWY (e.g. 16x8w8x4)`);
  const [tm, tn, wx, wy] = m.slice(1).map(Number);
  if (tm % 4 || tn % 4 || tm > 32 || tn > 32) throw new UserError(`bench matmul: tile '${s}': rows and columns must be multiples of 4, at most 32`);
  if (wx * wy > 256 || wx < 1 || wy < 1) throw new UserError(`bench matmul: tile '${s}': workgroup ${wx}×${wy} must have 1..256 invocations`);
  return { tm, tn, wx, wy };
}

/** A 'texture' tile as the blocked tile type carries it (wy unused): TMxTNwWX. */
export function parseTextureTile(s: string): BlockedTile {
  const m = /^(\d+)x(\d+)w(\d+)$/.exec(s.trim());
  if (!m) throw new UserError(`bench matmul: --texture-tiles entry '${s}' is not TMxTNwWX (e.g. 32x32w8)`);
  const [tm, tn, wx] = m.slice(1).map(Number);
  if (tn % 4 || tm < 1 || tn < 4 || tm > 64 || tn > 64) throw new UserError(`bench matmul: texture tile '${s}': rows (1..64) and columns (4..64, a multiple of 4)`);
  if (wx < 1 || wx > 256) throw new UserError(`bench matmul: texture tile '${s}': workgroup ${wx} must have 1..256 invocations`);
  return { tm, tn, wx, wy: 1 };
}

export function parseLanesTile(s: string): LanesTile {
  const m = /^(\d+)x(\d+)w(\d+)$/.exec(s.trim());
  if (!m) throw new UserError(`bench matmul: --lanes-tiles entry '${s}' is not TMxTNwWX (e.g. 16x4w16)`);
  const [tm, tn, wx] = m.slice(1).map(Number);
  if (tm % 4 || tn % 4 || tm < 4 || tn < 4 || tm > 64 || tn > 32) throw new UserError(`bench matmul: lanes tile '${s}': rows (≤ 64) and columns (≤ 32) must be multiples of 4`);
  if (wx < 1 || wx > 256) throw new UserError(`bench matmul: lanes tile '${s}': workgroup ${wx} must have 1..256 invocations`);
  return { tm, tnv: tn / 4, wx };
}

interface VariantSpec {
  name: string;
  variant: MatmulVariant;
  tile?: MatmulTile;
}

interface CaseResult extends MatmulCase {
  gflop: number;
  uploadMs: number;
  results: {
    name: string;
    variant: MatmulVariant;
    kernel: string;
    modes: string;
    firstRunMs: number;
    compileMs: number;
    warmups: number;
    stats: CandidateTiming['stats'];
    gflops: number;
    gflopsP90: number;
    /** GFLOP per second of this process's CPU time (all threads): the load-robust figure on CPU adapters. */
    cpuGflops: number | null;
    speedupVsNaive: number | null;
    readbackMs: number;
    /** max |C − C_ref| / max |C_ref|, the reference being naive (or the first variant). */
    maxRelErr: number;
  }[];
}

const ERR_LIMIT = 1e-4;

async function runCase(engine: Engine, c: MatmulCase, specs: readonly VariantSpec[], timing: TimingOptions): Promise<CaseResult> {
  const aShape = c.transA ? [c.K, c.M] : [c.M, c.K];
  const bShape = c.transB ? [c.N, c.K] : [c.K, c.N];
  const t0 = performance.now();
  const a = randn(aShape, 1);
  const b = randn(bShape, 2);
  await engine.sync();
  const uploadMs = performance.now() - t0;
  const opts = (s: VariantSpec) => ({ transA: c.transA, transB: c.transB, variant: s.variant, blockedTile: s.tile });
  const candidates: Candidate[] = specs.map((s) => ({ name: s.name, run: () => matmulRaw(a, b, opts(s)).dispose() }));
  const timings = await timeSideBySide(engine, candidates, timing);
  const outputs: Float32Array[] = [];
  const readbackMs: number[] = [];
  for (const s of specs) {
    const out: Tensor = matmulRaw(a, b, opts(s));
    await engine.sync();
    const r0 = performance.now();
    outputs.push((await out.data()) as Float32Array);
    readbackMs.push(performance.now() - r0);
    out.dispose();
  }
  a.dispose();
  b.dispose();
  engine.pool.trim();
  const refIdx = Math.max(0, specs.findIndex((s) => s.variant === 'naive' && !s.tile));
  const ref = outputs[refIdx];
  let refMax = 0;
  for (const v of ref) refMax = Math.max(refMax, Math.abs(v));
  const gflop = (2 * c.M * c.N * c.K) / 1e9;
  const naive = specs.findIndex((s) => s.variant === 'naive');
  const geom = matmulGeometry(aShape, bShape, c.transA, c.transB);
  return {
    ...c,
    gflop,
    uploadMs,
    results: specs.map((s, i) => {
      let err = 0;
      for (let j = 0; j < ref.length; j++) err = Math.max(err, Math.abs(outputs[i][j] - ref[j]));
      const plan = planMatmul(s.variant, geom, engine.adapter, s.tile);
      const st = timings[i].stats;
      return {
        name: s.name,
        variant: s.variant,
        kernel: plan.key,
        modes: modesKey(plan.modes),
        firstRunMs: timings[i].firstRunMs,
        compileMs: timings[i].compileMs,
        warmups: timings[i].warmups,
        stats: st,
        gflops: gflop / (st.medianMs / 1e3),
        gflopsP90: gflop / (st.p90Ms / 1e3),
        cpuGflops: st.cpuMedianMs ? gflop / (st.cpuMedianMs / 1e3) : null,
        speedupVsNaive: naive >= 0 ? timings[naive].stats.medianMs / st.medianMs : null,
        readbackMs: readbackMs[i],
        maxRelErr: refMax > 0 ? err / refMax : err,
      };
    }),
  };
}

function table(results: readonly CaseResult[]): string {
  const rows: string[][] = [];
  for (const c of results) {
    for (const [i, r] of c.results.entries()) {
      rows.push([
        i === 0 ? c.label : '',
        r.name,
        r.modes,
        fmt(r.stats.medianMs, 1),
        fmt(r.stats.p90Ms, 1),
        fmt(r.gflops),
        r.cpuGflops === null ? '-' : fmt(r.cpuGflops),
        r.speedupVsNaive === null ? '-' : `${fmt(r.speedupVsNaive, 1)}×`,
        `${r.stats.runs}${r.stats.repsPerSample > 1 ? `×${r.stats.repsPerSample}` : ''}`,
        fmt(r.firstRunMs, 0),
        r.maxRelErr <= ERR_LIMIT ? 'ok' : `BAD ${r.maxRelErr.toExponential(1)}`,
      ]);
    }
  }
  return formatTable(['case', 'variant', 'access', 'median ms', 'p90 ms', 'GFLOP/s', 'GFLOP/cpu-s', 'vs naive', 'runs', 'first ms', 'check'], rows);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string' },
      variants: { type: 'string' },
      tiles: { type: 'string' },
      'lanes-tiles': { type: 'string' },
      'texture-tiles': { type: 'string' },
      ...COMMON_OPTIONS,
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const cases = parseCases(values.sizes ?? (values.quick ? '256,512' : '256,512,1024,xlsr'));
  const variantNames = (values.variants ?? MATMUL_VARIANTS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const v of variantNames) {
    if (!(MATMUL_VARIANTS as readonly string[]).includes(v)) throw new UserError(`bench matmul: unknown variant '${v}' (known: ${MATMUL_VARIANTS.join(', ')})`);
  }
  const specs: VariantSpec[] = variantNames.map((v) => ({ name: v, variant: v as MatmulVariant }));
  for (const t of (values.tiles ?? '').split(',').filter((s) => s.trim())) {
    const tile = parseTile(t);
    specs.push({ name: `blocked ${t.trim()}`, variant: 'blocked', tile });
  }
  for (const t of (values['lanes-tiles'] ?? '').split(',').filter((s) => s.trim())) {
    specs.push({ name: `lanes ${t.trim()}`, variant: 'lanes', tile: parseLanesTile(t) });
  }
  for (const t of (values['texture-tiles'] ?? '').split(',').filter((s) => s.trim())) {
    specs.push({ name: `texture ${t.trim()}`, variant: 'texture', tile: parseTextureTile(t) });
  }
  if (!specs.length) throw new UserError('bench matmul: nothing to compare (empty --variants and --tiles)');
  const timing = timingFrom('matmul', values, QUICK_TIMING, DEFAULT_TIMING);
  const { engine, env } = await openBenchEngine('matmul', values.adapter);
  console.log(`adapter: ${env.adapterDescription}`);
  console.log(`default variant here: ${defaultVariant(engine)}; ${env.webgpuPackage}, node ${env.node}, ${env.cpuCount}× ${env.cpu}, load ${fmt(env.loadAverage.start)}`);
  const progress = new Progress('bench matmul', cases.length, 'cases');
  const results: CaseResult[] = [];
  for (const c of cases) {
    results.push(await runCase(engine, c, specs, timing));
    progress.tick(1, c.label);
  }
  finishEnvironment(env);
  console.log('');
  console.log(table(results));
  console.log(`\nGFLOP/s = 2·M·N·K / median time; GFLOP/cpu-s = the same per second of this process's CPU time (all threads; on a loaded\nmachine it stays near the work done, while wall time stretches); p90 and all samples in the JSON. Load average ${fmt(env.loadAverage.start)} → ${fmt(env.loadAverage.end ?? NaN)}.`);

  const record = { benchmark: 'matmul', environment: env, timing, quick: values.quick, cases: results };
  await saveRecord('matmul', engine, values, record);
  const bad = results.flatMap((c) => c.results.filter((r) => !(r.maxRelErr <= ERR_LIMIT)).map((r) => `${c.label} ${r.name}`));
  if (bad.length) {
    console.error(`bench matmul: results differ from the reference by more than ${ERR_LIMIT} (relative) for: ${bad.join('; ')}`);
    return 1;
  }
  return 0;
}
