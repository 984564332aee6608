// Benchmark harness shared by every bench/<name>.ts module (spec webgpu-notes.md §12): candidates are
// timed side by side in one process, round robin, so machine noise hits them alike; each sample
// is one or more back-to-back runs closed by a single queue sync; first run (shader compile) and
// warm-ups are kept apart from the timed samples; results carry the adapter and environment.
import { cpus, loadavg, platform, release } from 'node:os';
import { createRequire } from 'node:module';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../../engine/index.ts';
import { adapterChoiceFromEnv, initEngine, type AdapterChoice } from '../../engine/node.ts';
// The engine does not import kernels: loading them registers the self-check initEngine runs and gradient accumulation.
import '../../kernels/index.ts';
import { UserError } from '../../common/errors.ts';

export interface TimingOptions {
  /** Warm-up runs after the first (compiling) run; stopped early once they take budgetMs / 2. */
  warmups: number;
  /** Timed samples per candidate, at least. */
  minRuns: number;
  /** Timed samples per candidate, at most. */
  maxRuns: number;
  /** Once a candidate has minRuns samples, it stops after this much timed time. */
  budgetMs: number;
  /** A sample shorter than this repeats the run back to back (up to 64×) before the sync. */
  minSampleMs: number;
}

export const DEFAULT_TIMING: TimingOptions = { warmups: 3, minRuns: 3, maxRuns: 30, budgetMs: 2000, minSampleMs: 20 };
export const QUICK_TIMING: TimingOptions = { warmups: 1, minRuns: 1, maxRuns: 5, budgetMs: 300, minSampleMs: 10 };
/** For benchmarks whose cases take seconds each on CPU adapters (conv, local attention). */
export const SHORT_TIMING: TimingOptions = { warmups: 1, minRuns: 3, maxRuns: 20, budgetMs: 1000, minSampleMs: 20 };
export const ONE_RUN_TIMING: TimingOptions = { warmups: 0, minRuns: 1, maxRuns: 1, budgetMs: 0, minSampleMs: 0 };

export interface Stats {
  runs: number;
  /** Runs per sample (back to back before one sync). */
  repsPerSample: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  meanMs: number;
  /**
   * Median CPU time of this process per run (all threads: llvmpipe's and SwiftShader's workers run inside it),
   * ms. On a loaded machine wall time stretches with the other processes' share of the cores while CPU time
   * stays close to the work done, so CPU-adapter candidates are compared on it too. Absent where not measured.
   */
  cpuMedianMs?: number;
}

/** Quantile q of ascending `sorted` by linear interpolation. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarise(samples: readonly number[], reps: number, cpuSamples?: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const cpu = cpuSamples?.length ? { cpuMedianMs: quantile([...cpuSamples].sort((a, b) => a - b), 0.5) } : {};
  return {
    ...cpu,
    runs: s.length,
    repsPerSample: reps,
    medianMs: quantile(s, 0.5),
    p90Ms: quantile(s, 0.9),
    minMs: s[0] ?? NaN,
    meanMs: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

export interface Candidate {
  name: string;
  /** Records one run (no waiting); the harness syncs. */
  run: () => void;
}

export interface CandidateTiming {
  name: string;
  /** First run including pipeline compilation, ms. */
  firstRunMs: number;
  /** Of which pipeline creation (engine.stats.compileMs delta), ms. */
  compileMs: number;
  warmups: number;
  stats: Stats;
}

/** Times the candidates side by side: first runs, warm-ups, then round-robin timed samples. */
export async function timeSideBySide(engine: Engine, candidates: readonly Candidate[], o: TimingOptions): Promise<CandidateTiming[]> {
  const state = candidates.map((c) => ({ c, first: 0, compile: 0, warm: 0, reps: 1, samples: [] as number[], cpu: [] as number[], total: 0 }));
  for (const s of state) {
    const compile0 = engine.stats.compileMs;
    const t0 = performance.now();
    s.c.run();
    await engine.sync();
    s.first = performance.now() - t0;
    s.compile = engine.stats.compileMs - compile0;
    let warmTotal = 0;
    let last = s.first;
    while (s.warm < o.warmups && warmTotal < o.budgetMs / 2) {
      const w0 = performance.now();
      s.c.run();
      await engine.sync();
      last = performance.now() - w0;
      warmTotal += last;
      s.warm++;
    }
    s.reps = Math.max(1, Math.min(64, Math.ceil(o.minSampleMs / Math.max(last, 1e-3))));
  }
  const done = (s: (typeof state)[number]) => s.samples.length >= o.maxRuns || (s.samples.length >= o.minRuns && s.total >= o.budgetMs);
  while (!state.every(done)) {
    for (const s of state) {
      if (done(s)) continue;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let r = 0; r < s.reps; r++) s.c.run();
      await engine.sync();
      const dt = performance.now() - t0;
      const c1 = process.cpuUsage(c0);
      s.samples.push(dt / s.reps);
      s.cpu.push((c1.user + c1.system) / 1e3 / s.reps);
      s.total += dt;
    }
  }
  return state.map((s) => ({ name: s.c.name, firstRunMs: s.first, compileMs: s.compile, warmups: s.warm, stats: summarise(s.samples, s.reps, s.cpu) }));
}

export interface EnvironmentInfo {
  date: string;
  adapter: Engine['adapter'];
  adapterDescription: string;
  webgpuPackage: string;
  dawnFlags: string | null;
  node: string;
  os: string;
  cpu: string;
  cpuCount: number;
  /** 1-minute load average at start and end: a busy machine makes every number smaller. */
  loadAverage: { start: number; end?: number };
}

function packageVersion(name: string): string {
  try {
    const req = createRequire(import.meta.url);
    return `${name}@${(req(`${name}/package.json`) as { version: string }).version}`;
  } catch {
    return `${name}@unknown`;
  }
}

export function environmentInfo(engine: Engine): EnvironmentInfo {
  const c = cpus();
  return {
    date: new Date().toISOString(),
    adapter: engine.adapter,
    adapterDescription: engine.describe(),
    webgpuPackage: packageVersion('webgpu'),
    dawnFlags: process.env.SPOOFSCAN_DAWN_FLAGS ?? null,
    node: process.version,
    os: `${platform()} ${release()}`,
    cpu: c[0]?.model ?? 'unknown',
    cpuCount: c.length,
    loadAverage: { start: loadavg()[0] },
  };
}

export function finishEnvironment(env: EnvironmentInfo): void {
  env.loadAverage.end = loadavg()[0];
}

/** Short adapter name for result files: swiftshader, llvmpipe, or the GPU's device name. */
export function adapterSlug(engine: Engine): string {
  const a = engine.adapter;
  const text = `${a.device} ${a.description}`.toLowerCase();
  if (/swiftshader/.test(text)) return 'swiftshader';
  if (/llvmpipe/.test(text)) return 'llvmpipe';
  const name = (a.device || a.description || a.vendor || a.kind).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return name || 'adapter';
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(value, null, 2) + '\n');
}

/** The parseArgs options every benchmark takes: --quick, --budget S, --adapter A, --json FILE, --help. */
export const COMMON_OPTIONS = {
  quick: { type: 'boolean', default: false },
  budget: { type: 'string' },
  adapter: { type: 'string' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface CommonValues {
  quick?: boolean;
  budget?: string;
  adapter?: string;
  json?: string;
}

/** The timing of a run: `quick` or `full`, with --budget S as the per-candidate budget. */
export function timingFrom(bench: string, values: CommonValues, quick: TimingOptions, full: TimingOptions): TimingOptions {
  const timing = { ...(values.quick ? quick : full) };
  if (values.budget !== undefined) {
    const s = Number(values.budget);
    if (!(s > 0)) throw new UserError(`bench ${bench}: --budget '${values.budget}' is not a positive number of seconds`);
    timing.budgetMs = s * 1000;
  }
  return timing;
}

/** Opens the adapter that --adapter (or SPOOFSCAN_ADAPTER) names, quietly, with its environment record. */
export async function openBenchEngine(bench: string, adapter: string | undefined): Promise<{ engine: Engine; env: EnvironmentInfo }> {
  const choice = adapter ?? adapterChoiceFromEnv();
  if (!['auto', 'default', 'swiftshader', 'gles'].includes(choice)) {
    throw new UserError(`bench ${bench}: --adapter '${choice}' is not auto, default, swiftshader or gles`);
  }
  const engine = await initEngine(choice as AdapterChoice, { quiet: true });
  return { engine, env: environmentInfo(engine) };
}

/**
 * Writes the JSON record to --json, else (not for --quick runs) to bench-out/BENCH-ADAPTER.json (git-ignored):
 * the committed results in bench/results/ change only when --json names them.
 */
export async function saveRecord(bench: string, engine: Engine, values: CommonValues, record: unknown, alwaysSave = false): Promise<void> {
  const path = values.json ?? (values.quick && !alwaysSave ? null : resolve('bench-out', `${bench}-${adapterSlug(engine)}.json`));
  if (!path) return;
  await writeJson(path, record);
  console.log(`wrote ${path}`);
}

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return '-';
  return x.toFixed(digits);
}

/** A comma-separated list of positive integers from flag --`flag` of `bench NAME` (at most `max` each). */
export function intList(bench: string, flag: string, text: string, max = Infinity): number[] {
  const out = text.split(',').map((s) => Number(s.trim()));
  if (!out.every((n) => Number.isInteger(n) && n >= 1 && n <= max)) {
    throw new UserError(`bench ${bench}: --${flag} '${text}' must list ${Number.isFinite(max) ? `integers 1..${max}` : 'positive integers'}`);
  }
  return out;
}
