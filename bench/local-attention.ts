// `spoofscan bench local-attention`: the fused local-window attention kernel vs the same
// computation from engine ops (gather + matmul + softmax + matmul) vs dense attention with a band
// mask, side by side, forward and forward+backward: ms, GFLOP/s, bytes moved, peak pool memory,
// ratios. Cases that would exceed the adapter's buffer limits or the work cap are skipped and listed.
import { parseArgs } from 'node:util';
import { backward, randn, requiresGrad, tidy, type Engine, type Tensor } from '../engine/node.ts';
import { localWindowAttention, EDGE_POLICIES, type EdgePolicy } from '../kernels/local-attention.ts';
import { bandAttentionDense, bandMask, localWindowAttentionComposed } from '../kernels/local-attention-composed.ts';
import { UserError } from '../common/errors.ts';
import { Progress } from '../common/progress.ts';
import {
  COMMON_OPTIONS,
  finishEnvironment,
  fmt,
  formatTable,
  intList,
  ONE_RUN_TIMING,
  openBenchEngine,
  saveRecord,
  SHORT_TIMING,
  timeSideBySide,
  timingFrom,
  type Candidate,
  type TimingOptions,
} from './lib/harness.ts';

export const summary = 'fused local-window attention vs composed engine ops vs band-masked dense attention';

export const usage = `usage: spoofscan bench local-attention [--n LIST] [--w LIST] [--heads LIST] [--dims LIST]
                                       [--modes LIST] [--policy P] [--quick] [--budget SECONDS]
                                       [--max-gwork G] [--adapter A] [--json FILE]

  --n LIST       sequence lengths (default 8,201,1024,4096,16384; --quick 201,1024,4096)
  --w LIST       windows (default 3,7,31,127; --quick 7,31)
  --heads LIST   heads (default 1,8; --quick 8)
  --dims LIST    head dims d_k = d_v (default 64,128; --quick 64)
  --modes LIST   fwd, fwdbwd (default both)
  --policy P     edge policy of the fused and composed paths: mask (default), clamp or zero;
                 the band path exists for mask only
  --quick        the subset above, no warm-up, one timed run; JSON only with --json
  --budget S     timed seconds per candidate and case (default 1; at least 3 runs)
  --max-gwork G  skip a candidate whose estimated work per run exceeds G·10⁹ operations
                 (default 2 on CPU adapters, 2000 on GPUs): caps each case by time
  --adapter A    auto, default, swiftshader or gles (default: SPOOFSCAN_ADAPTER or auto)
  --json FILE    where to write the JSON record (default bench-out/local-attention-<adapter>.json; the committed bench/results/ files change only when named here)`;

const IMPLS = ['fused', 'composed', 'band'] as const;
type Impl = (typeof IMPLS)[number];
type Mode = 'fwd' | 'fwdbwd';

interface Case {
  N: number;
  W: number;
  H: number;
  d: number;
  mode: Mode;
}

interface Estimate {
  /** Useful FLOP of local attention (the same for every candidate, so GFLOP/s compare). */
  flop: number;
  /** Rough operation count of this candidate, for the work cap. */
  work: number;
  /** Estimated bytes read + written by all its kernels. */
  bytes: number;
  /** Largest single buffer. */
  largest: number;
  /** Estimated peak live bytes. */
  peak: number;
}

/** Cost model per candidate (B = 1, d_k = d_v = d). */
function estimate(impl: Impl, c: Case): Estimate {
  const { N, W, H, d } = c;
  const bwd = c.mode === 'fwdbwd';
  const flop = 2 * N * W * 2 * d * H + (bwd ? 2 * N * W * 5 * d * H : 0);
  const io = 4 * N * H * d; // one [1, H, N, d] tensor
  if (impl === 'fused') {
    // Compulsory traffic: Q, K, V and O once (+ dO, dQ, dK, dV and the N·W scratch twice in backward).
    return { flop, work: flop, bytes: 4 * io + (bwd ? 4 * io + 4 * 4 * N * W * H : 0), largest: Math.max(io, bwd ? 8 * N * W * H : 0), peak: 4 * io + (bwd ? 4 * io + 8 * N * W * H : 0) };
  }
  if (impl === 'composed') {
    const gathered = 4 * N * W * d * H; // K or V gathered: [1, H, N, W, d]
    const scores = 4 * N * W * H;
    // gather K, V (read + write), s = q·Kgᵀ, scale, mask, softmax, a·Vg; backward roughly twice that,
    // plus indexSelect's scatter-add through its inverse index (reads the gathered gradients once:
    // irregular loads, weighted ×4 against a FLOP for the work cap).
    const fwdBytes = 4 * gathered + 2 * gathered + 8 * scores + 2 * io;
    const scatter = bwd ? 4 * 2 * N * W * d * H : 0;
    return { flop, work: flop + 2 * N * W * d * H + scatter, bytes: fwdBytes * (bwd ? 3 : 1), largest: gathered, peak: (bwd ? 6 : 3) * gathered + 6 * scores + 4 * io };
  }
  const dense = 4 * N * N * H;
  const denseFlop = 2 * N * N * 2 * d * H + 10 * N * N * H;
  return { flop, work: denseFlop * (bwd ? 3 : 1), bytes: (8 * dense + 4 * io) * (bwd ? 3 : 1), largest: dense, peak: (bwd ? 8 : 5) * dense + 4 * io };
}

interface Result {
  impl: Impl;
  skipped: string | null;
  medianMs: number | null;
  p90Ms: number | null;
  firstRunMs: number | null;
  gflops: number | null;
  bytesMoved: number;
  peakBytes: number | null;
}

interface Row extends Case {
  gflop: number;
  results: Result[];
  /** composed / fused and band / fused median times. */
  composedRatio: number | null;
  bandRatio: number | null;
  /** max |fused − composed| / max |composed| of the forward output (fwd rows). */
  maxRelDiff: number | null;
}

function runOnce(impl: Impl, c: Case, policy: EdgePolicy, inputs: Tensor[], band: Tensor | null, dy: Tensor): void {
  tidy(() => {
    const [q, k, v] = inputs;
    const o = { window: c.W, policy };
    const y = impl === 'fused' ? localWindowAttention(q, k, v, o) : impl === 'composed' ? localWindowAttentionComposed(q, k, v, o) : bandAttentionDense(q, k, v, band!);
    if (c.mode === 'fwdbwd') backward(y, dy);
  });
  for (const t of inputs) {
    t.grad?.dispose();
    t.grad = null;
  }
}

async function runCase(engine: Engine, c: Case, policy: EdgePolicy, timing: TimingOptions, maxWork: number): Promise<Row> {
  const limit = Math.min(engine.limits.maxBufferSize, engine.limits.maxStorageBufferBindingSize);
  const skip = (impl: Impl): string | null => {
    const e = estimate(impl, c);
    if (impl === 'band' && policy !== 'mask') return `band mask = policy 'mask' only`;
    if (e.largest > limit) return `needs a ${fmt(e.largest / 2 ** 20, 0)} MiB buffer > adapter limit ${fmt(limit / 2 ** 20, 0)} MiB`;
    if (e.work > maxWork) return `~${fmt(e.work / 1e9, 1)} G ops per run > --max-gwork ${fmt(maxWork / 1e9, 1)}`;
    return null;
  };
  const reasons = IMPLS.map(skip);
  const live = IMPLS.filter((_, i) => reasons[i] === null);
  const shape = [1, c.H, c.N, c.d];
  const inputs = [randn(shape, 1, 0.5), randn(shape, 2, 0.5), randn(shape, 3)];
  if (c.mode === 'fwdbwd') inputs.forEach((t) => requiresGrad(t));
  const dy = randn(shape, 4);
  const band = live.includes('band') ? bandMask(c.N, c.W) : null;
  const candidates: Candidate[] = live.map((impl) => ({ name: impl, run: () => runOnce(impl, c, policy, inputs, band, dy) }));
  await engine.sync();
  const timings = candidates.length ? await timeSideBySide(engine, candidates, timing) : [];
  const peaks = new Map<Impl, number>();
  const outs = new Map<Impl, Float32Array>();
  for (const impl of live) {
    await engine.sync();
    engine.pool.resetPeak();
    const base = engine.memory().liveBytes;
    if (c.mode === 'fwd' && impl !== 'band') {
      const [q, k, v] = inputs;
      const y = impl === 'fused' ? localWindowAttention(q, k, v, { window: c.W, policy }) : localWindowAttentionComposed(q, k, v, { window: c.W, policy });
      peaks.set(impl, engine.memory().peakLiveBytes - base);
      outs.set(impl, (await y.data()) as Float32Array);
      y.dispose();
    } else {
      runOnce(impl, c, policy, inputs, band, dy);
      await engine.sync();
      peaks.set(impl, engine.memory().peakLiveBytes - base);
    }
  }
  for (const t of [...inputs, dy, ...(band ? [band] : [])]) t.dispose();
  await engine.sync();
  engine.pool.trim();
  const gflop = estimate('fused', c).flop / 1e9;
  const results: Result[] = IMPLS.map((impl, i) => {
    const t = timings[live.indexOf(impl)];
    const med = t ? t.stats.medianMs : null;
    return {
      impl,
      skipped: reasons[i],
      medianMs: med,
      p90Ms: t ? t.stats.p90Ms : null,
      firstRunMs: t ? t.firstRunMs : null,
      gflops: med ? gflop / (med / 1e3) : null,
      bytesMoved: estimate(impl, c).bytes,
      peakBytes: peaks.get(impl) ?? null,
    };
  });
  const ratio = (impl: Impl) => {
    const a = results[0].medianMs;
    const b = results[IMPLS.indexOf(impl)].medianMs;
    return a && b ? b / a : null;
  };
  let maxRelDiff: number | null = null;
  const f = outs.get('fused');
  const g = outs.get('composed');
  if (f && g) {
    let diff = 0;
    let ref = 0;
    for (let i = 0; i < g.length; i++) {
      diff = Math.max(diff, Math.abs(f[i] - g[i]));
      ref = Math.max(ref, Math.abs(g[i]));
    }
    maxRelDiff = ref > 0 ? diff / ref : diff;
  }
  return { ...c, gflop, results, composedRatio: ratio('composed'), bandRatio: ratio('band'), maxRelDiff };
}

const MiB = (b: number | null) => (b === null ? '-' : fmt(b / 2 ** 20, 1));
const ms = (x: number | null) => (x === null ? 'skip' : fmt(x, x < 10 ? 2 : 1));
const times = (x: number | null) => (x === null ? '-' : `${fmt(x, 1)}×`);

function table(rows: readonly Row[]): string {
  const body = rows.map((r) => {
    const [a, b, c] = r.results;
    return [
      `N${r.N} W${r.W} H${r.H} d${r.d} ${r.mode}`,
      r.gflop.toPrecision(3),
      ms(a.medianMs),
      a.gflops === null ? '-' : fmt(a.gflops),
      MiB(a.bytesMoved),
      MiB(a.peakBytes),
      ms(b.medianMs),
      MiB(b.bytesMoved),
      MiB(b.peakBytes),
      times(r.composedRatio),
      ms(c.medianMs),
      MiB(c.peakBytes),
      times(r.bandRatio),
      r.maxRelDiff === null ? '-' : r.maxRelDiff <= 1e-4 ? 'ok' : `BAD ${r.maxRelDiff.toExponential(1)}`,
    ];
  });
  return formatTable(
    ['case', 'GFLOP', 'fused ms', 'GFLOP/s', 'MiB moved', 'peak MiB', 'composed ms', 'MiB moved', 'peak MiB', 'comp/fused', 'band ms', 'peak MiB', 'band/fused', 'check'],
    body,
  );
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      w: { type: 'string' },
      heads: { type: 'string' },
      dims: { type: 'string' },
      modes: { type: 'string' },
      policy: { type: 'string' },
      'max-gwork': { type: 'string' },
      ...COMMON_OPTIONS,
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const q = values.quick;
  const Ns = intList('local-attention', 'n', values.n ?? (q ? '201,1024,4096' : '8,201,1024,4096,16384'));
  const Ws = intList('local-attention', 'w', values.w ?? (q ? '7,31' : '3,7,31,127'));
  const Hs = intList('local-attention', 'heads', values.heads ?? (q ? '8' : '1,8'));
  const Ds = intList('local-attention', 'dims', values.dims ?? (q ? '64' : '64,128'));
  const modes = (values.modes ?? 'fwd,fwdbwd').split(',').map((s) => s.trim());
  for (const m of modes) if (m !== 'fwd' && m !== 'fwdbwd') throw new UserError(`bench local-attention: unknown mode '${m}' (fwd, fwdbwd)`);
  const policy = (values.policy ?? 'mask') as EdgePolicy;
  if (!EDGE_POLICIES.includes(policy)) throw new UserError(`bench local-attention: --policy '${policy}' is not one of ${EDGE_POLICIES.join(', ')}`);
  const timing = timingFrom('local-attention', values, ONE_RUN_TIMING, SHORT_TIMING);
  const { engine, env } = await openBenchEngine('local-attention', values.adapter);
  const maxWork = (values['max-gwork'] !== undefined ? Number(values['max-gwork']) : engine.adapter.isCpu ? 2 : 2000) * 1e9;
  if (!(maxWork > 0)) throw new UserError(`bench local-attention: --max-gwork '${values['max-gwork']}' is not a positive number`);
  console.log(`adapter: ${env.adapterDescription}`);
  console.log(`${env.webgpuPackage}, node ${env.node}, ${env.cpuCount}× ${env.cpu}, load ${fmt(env.loadAverage.start)}; policy ${policy}, B = 1, d_k = d_v`);
  const cases: Case[] = [];
  for (const N of Ns) for (const W of Ws) for (const H of Hs) for (const d of Ds) for (const m of modes) cases.push({ N, W, H, d, mode: m as Mode });
  const progress = new Progress('bench local-attention', cases.length, 'cases');
  const rows: Row[] = [];
  for (const c of cases) {
    rows.push(await runCase(engine, c, policy, timing, maxWork));
    progress.tick(1, `N${c.N} W${c.W} H${c.H} d${c.d} ${c.mode}`);
  }
  finishEnvironment(env);
  console.log('');
  console.log(table(rows));
  const skipped = rows.flatMap((r) => r.results.filter((x) => x.skipped).map((x) => `  N${r.N} W${r.W} H${r.H} d${r.d} ${r.mode} ${x.impl}: ${x.skipped}`));
  if (skipped.length) console.log(`\nskipped:\n${skipped.join('\n')}`);
  console.log(
    `\nGFLOP = useful local-attention work (fwd 2·N·W·(d_k+d_v)·H, backward 2·N·W·(3d_k+2d_v)·H), the same for all three paths; ` +
      `MiB moved = cost-model bytes (fused: compulsory traffic); peak = pool bytes above the inputs in one run. ` +
      `Load average ${fmt(env.loadAverage.start)} → ${fmt(env.loadAverage.end ?? NaN)}.`,
  );
  const record = { benchmark: 'local-attention', environment: env, timing, policy, maxWork, quick: q, rows };
  await saveRecord('local-attention', engine, values, record);
  const bad = rows.filter((r) => r.maxRelDiff !== null && !(r.maxRelDiff <= 1e-4));
  if (bad.length) {
    console.error(`bench local-attention: fused and composed outputs differ by more than 1e-4 (relative) for: ${bad.map((r) => `N${r.N} W${r.W}`).join(', ')}`);
    return 1;
  }
  return 0;
}
