// `spoofscan bench xlsr`: the full XLS-R front-end on one 4.04 s clip (64,600 samples): eval-mode forward and
// one training step (forward + backward) at batch 1 and 4, with ms, GFLOP/s, peak pool bytes and the split
// over the stages (feature encoder, positional conv, transformer).
import { parseArgs } from 'node:util';
import { backward, noGrad, randn, requiresGrad, tidy, type Engine, type Tensor } from '../engine/node.ts';
import { mul, sum } from '../kernels/index.ts';
import { fileSource } from '../models/io/file-source.node.ts';
import { blockLengths } from '../models/xlsr/config.ts';
import { forwardMacs, loadXlsr, xlsrPreset, XlsrModel, XLSR_PRESETS } from '../models/xlsr/index.ts';
import { UserError } from '../common/errors.ts';
import { finishEnvironment, fmt, formatTable, openBenchEngine, saveRecord } from './lib/harness.ts';

export const summary = 'XLS-R front-end: eval forward and a training step on a 4.04 s clip, per stage';

export const usage = `usage: spoofscan bench xlsr [--model CKPT | --preset NAME] [--samples N] [--batches LIST] [--runs N]
                            [--no-train] [--no-eval] [--checkpoint] [--precompile] [--adapter A] [--json FILE]

  --model CKPT    weights to load (any checkpoint spoofscan reads); default: random weights of --preset
  --preset NAME   ${Object.keys(XLSR_PRESETS).join(', ')} (default xlsr-300m)
  --samples N     clip length in samples at 16 kHz (default 64600 = 4.04 s)
  --batches LIST  batch sizes of the training step (default 1,4)
  --runs N        timed runs per case after the first (compiling) run (default 1)
  --no-train      skip the training steps;  --no-eval  skip the eval forward
  --checkpoint    training steps with per-layer activation checkpointing
  --precompile    before each case's first run, run it once on a short clip (same kernels, see
                  precompileSamples) so that the first run finds its pipelines compiled
  --adapter A     auto|default|swiftshader|gles (default: SPOOFSCAN_ADAPTER or auto)
  --json FILE     where to write the JSON record (default bench-out/xlsr-<adapter>.json; the committed bench/results/ files change only when named here)`;

const STAGES = ['featureEncoder', 'positionalConv', 'transformer'] as const;
type Stage = (typeof STAGES)[number];
type Split = Record<Stage, number>;

interface CaseResult {
  case: string;
  batch: number;
  mode: 'eval' | 'train';
  gflop: number;
  firstRunMs: number;
  /** Median of the timed runs after the first (the first run when --runs 0). */
  warmMs: number;
  /** firstRunMs − warmMs: shader compilation and other first-run costs (Mesa compiles at first dispatch). */
  compileMs: number;
  /** compileMs / firstRunMs. */
  compileShare: number;
  /** Pipelines created during the first run (new kernel variants), and the time spent creating them. */
  pipelines: number;
  pipelineCreateMs: number;
  /** --precompile: the pass over a short clip before the first run (ms, pipelines it created); else null. */
  precompileMs: number | null;
  precompilePipelines: number | null;
  /** CPU time of this process (all threads) in the first run and the median timed run: on a loaded machine
   *  these stay near the work done while wall times stretch. */
  firstCpuMs: number;
  warmCpuMs: number;
  runsMs: number[];
  ms: number;
  gflops: number;
  peakPoolBytes: number;
  /** ms per stage of the last timed run (train: forward + backward of the stage). */
  stageMs: Split;
  stageGflop: Split;
}

async function timed<T>(engine: Engine, fn: () => T): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = fn();
  await engine.sync();
  return { value, ms: performance.now() - t0 };
}

/** One eval forward, stage by stage (a sync after each). */
async function evalRun(engine: Engine, model: XlsrModel, wav: Tensor): Promise<Split> {
  // Nothing is recorded: the parameters are frozen and the input needs no gradient (noGrad cannot span awaits).
  const run = model.begin(wav);
  const fe = await timed(engine, () => noGrad(() => model.featureEncoder(wav, run).y));
  const pc = await timed(engine, () => noGrad(() => model.positional(fe.value, run)));
  fe.value.dispose();
  const tr = await timed(engine, () => noGrad(() => model.transformer(pc.value, run).x));
  pc.value.dispose();
  tr.value.dispose();
  model.end(run);
  return { featureEncoder: fe.ms, positionalConv: pc.ms, transformer: tr.ms };
}

/** One training step (loss = Σ x·R), each stage's forward and backward timed apart: the stage outputs are cut
 *  into fresh leaves so that backward can run one stage at a time. */
async function trainRun(engine: Engine, model: XlsrModel, wav: Tensor, R: Tensor, checkpoint: boolean): Promise<Split> {
  const run = model.begin(wav);
  const opts = { training: true, seed: 1, step: 1, checkpoint };
  const fe = await timed(engine, () => model.featureEncoder(wav, run, opts).y);
  const leaf1 = requiresGrad(fe.value.view(fe.value.shape));
  const pc = await timed(engine, () => model.positional(leaf1, run));
  const leaf2 = requiresGrad(pc.value.view(pc.value.shape));
  const tr = await timed(engine, () => tidy(() => sum(mul(model.transformer(leaf2, run, opts).x, R))));
  const trB = await timed(engine, () => backward(tr.value));
  const pcB = await timed(engine, () => backward(pc.value, leaf2.grad!));
  const feB = await timed(engine, () => backward(fe.value, leaf1.grad!));
  for (const t of [tr.value, pc.value, fe.value, leaf1, leaf2, leaf1.grad!, leaf2.grad!]) t.dispose();
  for (const p of model.namedParameters().values()) {
    p.grad?.dispose();
    p.grad = null;
  }
  model.end(run);
  return { featureEncoder: fe.ms + feB.ms, positionalConv: pc.ms + pcB.ms, transformer: tr.ms + trB.ms };
}

/**
 * The shortest clip (≥ 400 samples) whose every conv output length, and the sample count itself, is congruent
 * to the real clip's mod 8: the kernels pick their access modes (vec4 or scalar) from such residues, so a
 * forward on this clip compiles the same pipelines as the real one at a fraction of the cost.
 */
export function precompileSamples(samples: number, conv: XlsrModel['config']['convLayers']): number {
  const full = [samples, ...blockLengths(samples, conv)];
  for (let s = 400; s < samples; s++) {
    const got = [s, ...blockLengths(s, conv)];
    // Lengths of at least 9 keep every dim above 1 (a dim of 1 is dropped, which changes the batch rank and so the pipeline).
    if (got.every((n, i) => n >= Math.min(9, full[i]) && n % 8 === full[i] % 8)) return s;
  }
  return samples;
}

async function measure(
  engine: Engine,
  name: string,
  mode: 'eval' | 'train',
  batch: number,
  model: XlsrModel,
  samples: number,
  runs: number,
  checkpoint: boolean,
  precompile: boolean,
): Promise<CaseResult> {
  const macs = forwardMacs(model.config, samples);
  const factor = 2 * batch * (mode === 'train' ? 3 : 1) / 1e9; // a training step ≈ 3 forwards (spec model-xlsr.md §7)
  const stageGflop: Split = { featureEncoder: macs.featureEncoder * factor, positionalConv: macs.positionalConv * factor, transformer: macs.transformer * factor };
  const gflop = macs.total * factor;
  const wav = randn([batch, samples], 7, 0.1);
  const T = model.frames(samples);
  const R = randn([batch, T, model.config.dModel], 8);
  model.setFrozen(mode === 'train' ? 'none' : 'all');
  const once = () => (mode === 'eval' ? evalRun(engine, model, wav) : trainRun(engine, model, wav, R, checkpoint));
  let precompileMs: number | null = null;
  let precompilePipelines: number | null = null;
  if (precompile) {
    // Compile ahead of the first batch: one pass over a short clip with the same kernel variants.
    const s = precompileSamples(samples, model.config.convLayers);
    const p0 = performance.now();
    const n0 = engine.stats.pipelinesCompiled;
    const w = randn([batch, s], 9, 0.1);
    const r = randn([batch, model.frames(s), model.config.dModel], 10);
    if (mode === 'eval') await evalRun(engine, model, w);
    else await trainRun(engine, model, w, r, checkpoint);
    w.dispose();
    r.dispose();
    await engine.sync();
    precompileMs = performance.now() - p0;
    precompilePipelines = engine.stats.pipelinesCompiled - n0;
  }
  await engine.sync();
  engine.pool.resetPeak();
  const base = engine.memory().liveBytes;
  const pipes0 = engine.stats.pipelinesCompiled;
  const create0 = engine.stats.compileMs;
  const cpu = async (): Promise<[Split, number]> => {
    const c0 = process.cpuUsage();
    const split = await once();
    const c = process.cpuUsage(c0);
    return [split, (c.user + c.system) / 1e3];
  };
  const [first, firstCpuMs] = await cpu();
  const pipelines = engine.stats.pipelinesCompiled - pipes0;
  const pipelineCreateMs = engine.stats.compileMs - create0;
  const peak = engine.memory().peakLiveBytes - base;
  const firstRunMs = STAGES.reduce((a, s) => a + first[s], 0);
  const runsMs: number[] = [];
  const runsCpuMs: number[] = [];
  let last = first;
  for (let r = 0; r < runs; r++) {
    const [split, c] = await cpu();
    last = split;
    runsMs.push(STAGES.reduce((a, s) => a + last[s], 0));
    runsCpuMs.push(c);
  }
  const cpuSorted = [...runsCpuMs].sort((a, b) => a - b);
  const warmCpuMs = cpuSorted.length ? cpuSorted[Math.floor((cpuSorted.length - 1) / 2)] : firstCpuMs;
  wav.dispose();
  R.dispose();
  const sorted = [...runsMs].sort((a, b) => a - b);
  const ms = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : firstRunMs;
  const compileMs = Math.max(0, firstRunMs - ms);
  return {
    case: name,
    batch,
    mode,
    gflop,
    firstRunMs,
    warmMs: ms,
    compileMs,
    compileShare: firstRunMs > 0 ? compileMs / firstRunMs : 0,
    pipelines,
    pipelineCreateMs,
    precompileMs,
    precompilePipelines,
    firstCpuMs,
    warmCpuMs,
    runsMs,
    ms,
    gflops: gflop / (ms / 1e3),
    peakPoolBytes: peak,
    stageMs: last,
    stageGflop,
  };
}

function table(rows: readonly CaseResult[]): string {
  const MiB = (b: number) => fmt(b / 2 ** 20, 0);
  return formatTable(
    ['case', 'GFLOP', 'first ms', 'warm ms', 'compile share', 'pipelines', 'first cpu ms', 'warm cpu ms', 'GFLOP/s', 'peak MiB', 'feat. enc. ms', 'pos conv ms', 'transformer ms'],
    rows.map((r) => [r.case, fmt(r.gflop, 1), fmt(r.firstRunMs, 0), fmt(r.warmMs, 0), r.runsMs.length ? `${fmt(100 * r.compileShare, 0)} %` : '-', String(r.pipelines), fmt(r.firstCpuMs, 0), fmt(r.warmCpuMs, 0), fmt(r.gflops, 1), MiB(r.peakPoolBytes), ...STAGES.map((s) => `${fmt(r.stageMs[s], 0)} (${fmt(r.stageGflop[s] / (r.stageMs[s] / 1e3), 1)})`)]),
  );
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      preset: { type: 'string', default: 'xlsr-300m' },
      samples: { type: 'string', default: '64600' },
      batches: { type: 'string', default: '1,4' },
      runs: { type: 'string', default: '1' },
      'no-train': { type: 'boolean', default: false },
      'no-eval': { type: 'boolean', default: false },
      checkpoint: { type: 'boolean', default: false },
      precompile: { type: 'boolean', default: false },
      adapter: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const samples = Number(values.samples);
  const runs = Number(values.runs);
  const batches = values.batches.split(',').map(Number);
  if (!Number.isInteger(samples) || samples < 400) throw new UserError(`bench xlsr: --samples '${values.samples}' must be an integer ≥ 400`);
  if (!Number.isInteger(runs) || runs < 0) throw new UserError(`bench xlsr: --runs '${values.runs}' must be a non-negative integer`);
  if (!batches.every((b) => Number.isInteger(b) && b > 0)) throw new UserError(`bench xlsr: --batches '${values.batches}' must list positive integers`);
  if (!values.model && !XLSR_PRESETS[values.preset]) throw new UserError(`bench xlsr: unknown preset '${values.preset}' (${Object.keys(XLSR_PRESETS).join(', ')})`);
  const { engine, env } = await openBenchEngine('xlsr', values.adapter);
  console.log(`adapter: ${env.adapterDescription}; ${env.webgpuPackage}, node ${env.node}, ${env.cpuCount}× ${env.cpu}, load ${fmt(env.loadAverage.start)}`);
  const t0 = performance.now();
  let model: XlsrModel;
  let weights: string;
  if (values.model) {
    const src = await fileSource(values.model);
    try {
      model = (await loadXlsr(src)).model;
    } finally {
      await src.close();
    }
    weights = values.model;
  } else {
    model = XlsrModel.fromConfig(xlsrPreset(values.preset), 1);
    weights = `random ${values.preset}`;
  }
  await engine.sync();
  console.log(`weights: ${weights}, ${model.parameterCount().toLocaleString('en-US')} parameters, ready in ${fmt((performance.now() - t0) / 1e3, 1)} s; clip ${samples} samples → ${model.frames(samples)} frames`);

  const rows: CaseResult[] = [];
  const errors: string[] = [];
  const jobs: [string, 'eval' | 'train', number][] = [];
  if (!values['no-eval']) jobs.push(['eval b1', 'eval', 1]);
  if (!values['no-train']) for (const b of batches) jobs.push([`train b${b}${values.checkpoint ? ' ckpt' : ''}`, 'train', b]);
  for (const [name, mode, b] of jobs) {
    const c0 = performance.now();
    try {
      const r = await measure(engine, name, mode, b, model, samples, runs, values.checkpoint, values.precompile);
      rows.push(r);
      const pre = r.precompileMs === null ? '' : `, precompile ${fmt(r.precompileMs, 0)} ms (${r.precompilePipelines} pipelines)`;
      console.log(`${name}: ${fmt(r.ms, 0)} ms (first ${fmt(r.firstRunMs, 0)} ms, ${r.pipelines} new pipelines${pre}), ${fmt(r.gflops, 1)} GFLOP/s, peak ${fmt(r.peakPoolBytes / 2 ** 20, 0)} MiB [${fmt((performance.now() - c0) / 1e3, 0)} s wall]`);
    } catch (e) {
      const msg = `${name}: failed after ${fmt((performance.now() - c0) / 1e3, 0)} s: ${(e as Error).message}`;
      errors.push(msg);
      console.error(msg);
    }
  }
  finishEnvironment(env);
  const frames = model.frames(samples);
  model.dispose();
  console.log('');
  console.log(table(rows));
  console.log('\nstage columns: ms (GFLOP/s). GFLOP = 2·MACs·batch (training step: ×3). Peak = pool bytes above the weights during the first run.');
  const record = { benchmark: 'xlsr', environment: env, weights, samples, frames, runs, checkpoint: values.checkpoint, rows, errors };
  await saveRecord('xlsr', engine, values, record, true);
  console.log(JSON.stringify({ rows: rows.map((r) => ({ case: r.case, ms: Math.round(r.ms), firstRunMs: Math.round(r.firstRunMs), pipelines: r.pipelines, gflops: +r.gflops.toFixed(2), peakPoolBytes: r.peakPoolBytes, stageMs: r.stageMs })), errors }));
  return errors.length ? 1 : 0;
}
