// `spoofscan bench conv`: the XLS-R conv shapes (7 feature-encoder blocks and the positional
// conv) with the implicit-GEMM conv1d kernels and the im2col + matmul baseline side by side,
// forward and forward+backward: ms, GFLOP/s, ratio, peak pool memory, and a cross-check of the two.
import { parseArgs } from 'node:util';
import { backward, randn, requiresGrad, tidy, type Engine } from '../engine/node.ts';
import { conv1d, conv1dGeometry, conv1dTile, type Conv1dOptions } from '../kernels/conv1d.ts';
import { UserError } from '../common/errors.ts';
import { Progress } from '../common/progress.ts';
import {
  COMMON_OPTIONS,
  finishEnvironment,
  fmt,
  formatTable,
  ONE_RUN_TIMING,
  openBenchEngine,
  saveRecord,
  SHORT_TIMING,
  timeSideBySide,
  timingFrom,
  type Candidate,
  type CandidateTiming,
  type TimingOptions,
} from './lib/harness.ts';

export const summary = 'conv1d on the XLS-R shapes: implicit-GEMM kernels vs im2col + matmul';

export const usage = `usage: spoofscan bench conv [--cases LIST] [--modes LIST] [--samples N] [--quick]
                            [--budget SECONDS] [--adapter auto|default|swiftshader|gles] [--json FILE]

  --cases LIST    any of enc0,enc1,enc2,enc3,enc4,enc5,enc6,pos (default: all);
                  enc = feature-encoder block, pos = positional conv (1024→1024, k128, 16 groups)
  --modes LIST    fwd, fwdbwd (default both); fwdbwd = forward + dX + dW + dbias
                  (enc0 has no dX: its input is the waveform)
  --samples N     audio length in samples at 16 kHz (default 64600 = 4.04 s; 256000 = 16 s);
                  sets every block's input length and the frame count T of the positional conv
  --quick         no warm-up, one timed run per candidate; writes JSON only with --json
  --budget S      timed seconds per candidate and case (default 1; at least 3 runs are taken)
  --adapter A     which WebGPU adapter to open (default: SPOOFSCAN_ADAPTER or auto)
  --json FILE     where to write the JSON record (default bench-out/conv-<adapter>.json; the committed bench/results/ files change only when named here)`;

interface ConvCase {
  name: string;
  B: number;
  Cin: number;
  Cout: number;
  K: number;
  L: number;
  opts: Conv1dOptions;
  /** Whether backward computes dX (not for the waveform input). */
  needsDx: boolean;
}

const CASE_NAMES = ['enc0', 'enc1', 'enc2', 'enc3', 'enc4', 'enc5', 'enc6', 'pos'] as const;

/** The XLS-R conv layers for one utterance of `samples` samples (spec model-xlsr.md §1–§3). */
export function xlsrCases(samples: number): ConvCase[] {
  if (samples < 400) throw new UserError(`bench conv: --samples ${samples} is below the 400-sample receptive field`);
  const layers: [number, number][] = [[10, 5], [3, 2], [3, 2], [3, 2], [3, 2], [2, 2], [2, 2]];
  const out: ConvCase[] = [];
  let L = samples;
  layers.forEach(([K, s], i) => {
    out.push({ name: `enc${i}`, B: 1, Cin: i === 0 ? 1 : 512, Cout: 512, K, L, opts: { stride: s }, needsDx: i > 0 });
    L = Math.floor((L - K) / s) + 1;
  });
  out.push({ name: 'pos', B: 1, Cin: 1024, Cout: 1024, K: 128, L, opts: { padding: 64, groups: 16, trimEnd: 1 }, needsDx: true });
  return out;
}

type Mode = 'fwd' | 'fwdbwd';
const IMPLS = ['implicit', 'im2col'] as const;

interface Row {
  case: string;
  shape: string;
  mode: Mode;
  gflop: number;
  results: {
    impl: (typeof IMPLS)[number];
    firstRunMs: number;
    compileMs: number;
    stats: CandidateTiming['stats'];
    gflops: number;
    /** Peak pool bytes above the inputs during one run. */
    peakBytes: number;
  }[];
  /** im2col median / implicit median. */
  speedup: number;
  /** max |y_implicit − y_im2col| / max |y_im2col| (forward rows). */
  maxRelDiff: number | null;
}

function describeCase(c: ConvCase): string {
  const o = c.opts;
  const extra = [o.stride && o.stride > 1 ? `s${o.stride}` : '', o.padding ? `p${o.padding}` : '', o.groups && o.groups > 1 ? `g${o.groups}` : '', o.trimEnd ? `trim${o.trimEnd}` : '']
    .filter(Boolean)
    .join(' ');
  return `${c.Cin}→${c.Cout} k${c.K} ${extra} L${c.L}`;
}

async function runCase(engine: Engine, c: ConvCase, mode: Mode, timing: TimingOptions): Promise<Row> {
  const g = conv1dGeometry([c.B, c.Cin, c.L], [c.Cout, c.Cin / (c.opts.groups ?? 1), c.K], c.opts);
  const macs = g.B * g.Cout * g.Lout * g.Cing * g.K;
  const gflop = (2 * macs * (mode === 'fwd' ? 1 : c.needsDx ? 3 : 2)) / 1e9;
  const x = randn([c.B, c.Cin, c.L], 1);
  const w = randn([c.Cout, g.Cing, c.K], 2, 1 / Math.sqrt(g.Cing * c.K));
  const bias = randn([c.Cout], 3);
  const dy = randn([g.B, g.Cout, g.Lout], 4);
  if (mode === 'fwdbwd') {
    if (c.needsDx) requiresGrad(x);
    requiresGrad(w);
    requiresGrad(bias);
  }
  const clearGrads = () => {
    for (const t of [x, w, bias]) {
      t.grad?.dispose();
      t.grad = null;
    }
  };
  const once = (impl: (typeof IMPLS)[number]) => {
    tidy(() => {
      const y = conv1d(x, w, bias, { ...c.opts, impl });
      if (mode === 'fwdbwd') backward(y, dy);
    });
    clearGrads();
  };
  const candidates: Candidate[] = IMPLS.map((impl) => ({ name: impl, run: () => once(impl) }));
  await engine.sync();
  const timings = await timeSideBySide(engine, candidates, timing);
  // One more run each, alone, for peak memory; forward outputs for the cross-check.
  const peaks: number[] = [];
  const outs: Float32Array[] = [];
  for (const impl of IMPLS) {
    await engine.sync();
    engine.pool.resetPeak();
    const base = engine.memory().liveBytes;
    if (mode === 'fwd') {
      const y = conv1d(x, w, bias, { ...c.opts, impl });
      peaks.push(engine.memory().peakLiveBytes - base);
      outs.push((await y.data()) as Float32Array);
      y.dispose();
    } else {
      once(impl);
      await engine.sync();
      peaks.push(engine.memory().peakLiveBytes - base);
    }
  }
  for (const t of [x, w, bias, dy]) t.dispose();
  await engine.sync();
  engine.pool.trim();
  let maxRelDiff: number | null = null;
  if (outs.length === 2) {
    let diff = 0;
    let ref = 0;
    for (let i = 0; i < outs[1].length; i++) {
      diff = Math.max(diff, Math.abs(outs[0][i] - outs[1][i]));
      ref = Math.max(ref, Math.abs(outs[1][i]));
    }
    maxRelDiff = ref > 0 ? diff / ref : diff;
  }
  return {
    case: c.name,
    shape: describeCase(c),
    mode,
    gflop,
    results: IMPLS.map((impl, i) => ({
      impl,
      firstRunMs: timings[i].firstRunMs,
      compileMs: timings[i].compileMs,
      stats: timings[i].stats,
      gflops: gflop / (timings[i].stats.medianMs / 1e3),
      peakBytes: peaks[i],
    })),
    speedup: timings[1].stats.medianMs / timings[0].stats.medianMs,
    maxRelDiff,
  };
}

const MB = (b: number) => fmt(b / 2 ** 20, 1);

function table(rows: readonly Row[]): string {
  const body = rows.map((r) => {
    const [a, b] = r.results;
    return [
      `${r.case} ${r.mode}`,
      r.shape,
      fmt(r.gflop, 2),
      fmt(a.stats.medianMs, 1),
      fmt(a.gflops),
      MB(a.peakBytes),
      fmt(b.stats.medianMs, 1),
      fmt(b.gflops),
      MB(b.peakBytes),
      `${fmt(r.speedup, 2)}×`,
      r.maxRelDiff === null ? '-' : r.maxRelDiff <= 1e-4 ? 'ok' : `BAD ${r.maxRelDiff.toExponential(1)}`,
    ];
  });
  const total = (mode: Mode, i: number) => rows.filter((r) => r.mode === mode).reduce((s, r) => s + r.results[i].stats.medianMs, 0);
  for (const mode of ['fwd', 'fwdbwd'] as const) {
    if (!rows.some((r) => r.mode === mode)) continue;
    const a = total(mode, 0);
    const b = total(mode, 1);
    body.push([`all ${mode}`, '', '', fmt(a, 1), '', '', fmt(b, 1), '', '', `${fmt(b / a, 2)}×`, '']);
  }
  return formatTable(['case', 'shape', 'GFLOP', 'implicit ms', 'GFLOP/s', 'peak MiB', 'im2col ms', 'GFLOP/s', 'peak MiB', 'speedup', 'check'], body);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cases: { type: 'string' },
      modes: { type: 'string' },
      samples: { type: 'string' },
      ...COMMON_OPTIONS,
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const samples = Number(values.samples ?? 64600);
  if (!Number.isInteger(samples)) throw new UserError(`bench conv: --samples '${values.samples}' is not an integer`);
  const wanted = (values.cases ?? CASE_NAMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of wanted) if (!(CASE_NAMES as readonly string[]).includes(n)) throw new UserError(`bench conv: unknown case '${n}' (known: ${CASE_NAMES.join(', ')})`);
  const modes = (values.modes ?? 'fwd,fwdbwd').split(',').map((s) => s.trim()).filter(Boolean);
  for (const m of modes) if (m !== 'fwd' && m !== 'fwdbwd') throw new UserError(`bench conv: unknown mode '${m}' (fwd, fwdbwd)`);
  const cases = xlsrCases(samples).filter((c) => wanted.includes(c.name));
  const timing = timingFrom('conv', values, ONE_RUN_TIMING, SHORT_TIMING);
  const { engine, env } = await openBenchEngine('conv', values.adapter);
  const tile = conv1dTile(engine);
  console.log(`adapter: ${env.adapterDescription}`);
  console.log(`conv tile here: ${tile.tn} positions × ≤16 channels per invocation, workgroup ${tile.wx}×${tile.wy}; ${env.webgpuPackage}, node ${env.node}, ${env.cpuCount}× ${env.cpu}, load ${fmt(env.loadAverage.start)}`);
  const jobs = cases.flatMap((c) => modes.map((m) => [c, m as Mode] as const));
  const progress = new Progress('bench conv', jobs.length, 'cases');
  const rows: Row[] = [];
  for (const [c, m] of jobs) {
    rows.push(await runCase(engine, c, m, timing));
    progress.tick(1, `${c.name} ${m}`);
  }
  finishEnvironment(env);
  console.log('');
  console.log(table(rows));
  console.log(`\nGFLOP/s = 2·MACs / median time (fwdbwd counts dX and dW as one forward each); speedup = im2col / implicit. Load average ${fmt(env.loadAverage.start)} → ${fmt(env.loadAverage.end ?? NaN)}.`);
  const record = { benchmark: 'conv', environment: env, timing, samples, tile, quick: values.quick, rows };
  await saveRecord('conv', engine, values, record);
  const bad = rows.filter((r) => r.maxRelDiff !== null && !(r.maxRelDiff <= 1e-4));
  if (bad.length) {
    console.error(`bench conv: implicit and im2col outputs differ by more than 1e-4 (relative) for: ${bad.map((r) => r.case).join(', ')}`);
    return 1;
  }
  return 0;
}
