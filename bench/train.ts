// `spoofscan bench train`: optimizer steps of the real training loop (train/trainer.ts: train-mode forward,
// weighted CE, backward, gradient norm, Adam) for a detector preset at several batch sizes: clips/s, ms per step
// and peak GPU pool memory per step. Synthetic audio (the data loader is not timed here).
import { parseArgs } from 'node:util';
import { Rng } from '../engine/random.ts';
import { buildModel } from '../train/build-model.ts';
import { defaultConfig, mergeConfig } from '../train/config.ts';
import { DataLoader } from '../train/data/loader.ts';
import { Trainer, type RunStore } from '../train/trainer.ts';
import { UserError } from '../common/errors.ts';
import { COMMON_OPTIONS, finishEnvironment, fmt, formatTable, openBenchEngine, saveRecord } from './lib/harness.ts';

export const summary = 'training steps (forward, backward, Adam) of the tiny and full detector presets: clips/s and peak memory';

export const usage = `usage: spoofscan bench train [--presets LIST] [--batches LIST] [--samples N] [--steps N] [--quick]
                             [--adapter A] [--json FILE]

  --presets LIST  tiny, xlsr-300m (default: tiny; add xlsr-300m on a GPU)
  --batches LIST  micro-batch sizes (default 1,4,8)
  --samples N     crop length in samples (default 64600 = 4.04 s)
  --steps N       timed optimizer steps per case after one warm-up step (default 3)
  --quick         tiny preset, batch 1 and 2, 8,000 samples, 1 timed step (a smoke run; results are not saved)
  --adapter A     auto|default|swiftshader|gles (default: SPOOFSCAN_ADAPTER or auto)
  --json FILE     where to write the JSON record (default bench-out/train-<adapter>.json; the committed bench/results/ files change only when named here)`;

interface Row {
  preset: string;
  batch: number;
  samples: number;
  firstStepMs: number;
  ms: number;
  clipsPerSec: number;
  peakPoolBytes: number;
}

const NO_STORE: RunStore = {
  appendLog: async () => undefined,
  saveState: async () => undefined,
  saveModel: async () => undefined,
  saveDevScores: async () => undefined,
  pruneEpochModels: async () => undefined,
};

function list(text: string, what: string): string[] {
  const xs = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!xs.length) throw new UserError(`bench train: --${what} is empty`);
  return xs;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...COMMON_OPTIONS, presets: { type: 'string' }, batches: { type: 'string' }, samples: { type: 'string' }, steps: { type: 'string' } },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const presets = values.quick ? ['tiny'] : list(values.presets ?? 'tiny', 'presets');
  for (const p of presets) if (p !== 'tiny' && p !== 'xlsr-300m') throw new UserError(`bench train: unknown preset '${p}' (tiny, xlsr-300m)`);
  const batches = (values.quick ? ['1', '2'] : list(values.batches ?? '1,4,8', 'batches')).map((b) => {
    const n = Number(b);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`bench train: batch '${b}' is not a positive integer`);
    return n;
  });
  const samples = values.quick ? 8000 : Number(values.samples ?? 64600);
  const steps = values.quick ? 1 : Number(values.steps ?? 3);
  if (!Number.isInteger(samples) || samples < 400) throw new UserError(`bench train: --samples must be an integer ≥ 400`);
  if (!Number.isInteger(steps) || steps < 1) throw new UserError(`bench train: --steps must be a positive integer`);

  const { engine, env } = await openBenchEngine('train', values.adapter);
  const rows: Row[] = [];
  for (const preset of presets) {
    for (const batch of batches) {
      const config = mergeConfig(defaultConfig('detect'), { preset, batch, crop: samples, data: { train: '-', dev: '-' } }, 'bench');
      const model = await buildModel(config, 2);
      const loader = new DataLoader([], { prepare: () => Promise.reject(new Error('bench: no data')) }, { batchSize: batch, seed: 0, shuffle: false });
      const trainer = new Trainer({ config, model, train: loader, dev: [], readDev: () => Promise.reject(new Error('bench: no dev')), classNames: ['spoof', 'bonafide'], store: NO_STORE });
      const rng = new Rng(7);
      const x = new Float32Array(batch * samples).map(() => 0.1 * (2 * rng.uniform() - 1));
      const labels = Int32Array.from({ length: batch }, (_, i) => i % 2);
      const step = async () => {
        const t0 = performance.now();
        const loss = await trainer.accumulate(x, [batch, samples], labels, 0);
        await trainer.update(loss, () => 'bench');
        return performance.now() - t0;
      };
      try {
        const firstStepMs = await step();
        engine.pool.resetPeak();
        const base = engine.memory().liveBytes;
        let total = 0;
        for (let s = 0; s < steps; s++) total += await step();
        const ms = total / steps;
        const row: Row = { preset, batch, samples, firstStepMs, ms, clipsPerSec: (batch * 1000) / ms, peakPoolBytes: engine.memory().peakLiveBytes - base };
        rows.push(row);
        console.log(`${preset} batch ${batch}: ${fmt(ms, 0)} ms/step, ${fmt(row.clipsPerSec, 2)} clips/s, peak ${fmt(row.peakPoolBytes / 2 ** 20, 0)} MiB above the model (first step ${fmt(firstStepMs, 0)} ms)`);
      } finally {
        trainer.dispose();
        model.dispose();
      }
    }
  }
  finishEnvironment(env);
  console.log('\n' + formatTable(['preset', 'batch', 'samples', 'first step ms', 'ms/step', 'clips/s', 'peak MiB'], rows.map((r) => [r.preset, String(r.batch), String(r.samples), fmt(r.firstStepMs, 0), fmt(r.ms, 0), fmt(r.clipsPerSec, 2), fmt(r.peakPoolBytes / 2 ** 20, 0)])));
  await saveRecord('train', engine, values, { bench: 'train', env, rows });
  return 0;
}
