// spoofscan train: a thin wrapper over train/session.node.ts (the loop, checkpoints and resume live there).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { adapterChoiceFromEnv, initEngine } from '../../engine/node.ts';
import { defaultConfig, mergeConfig, parseSet, type TrainConfig, type TrainTask } from '../../train/config.ts';
import { RunDir } from '../../train/run-dir.node.ts';
import { openSession } from '../../train/session.node.ts';
import { UserError } from '../../common/errors.ts';
import { trainProgress } from '../train-progress.ts';
import { runDirReportInput, writeReport } from './report.ts';

export const summary = 'train or fine-tune a detector or an API tracer (exact resume, dev-only model selection)';

const HELP = `usage: spoofscan train --task detect|trace --data ROOT --train LIST --dev LIST --out DIR
                       [--config FILE.json] [--set key=value ...] [--init CKPT] [--preset tiny|xlsr-300m]
                       [--epochs N] [--max-steps N] [--batch N] [--accumulate K] [--checkpoint-every STEPS]
                       [--lr LR] [--seed S] [--workers N] [--adapter auto|default|swiftshader|gles]
       spoofscan train --resume DIR

Trains XLS-R + Nes2Net-LA (detect: bona fide vs spoof) or XLS-R + a tracing head (trace: which TTS API), with
the MultiAPI-Spoof recipe as defaults (detect: weighted CE [0.1 spoof, 0.9 bona fide], Adam 5e-6, L2 1e-4,
batch 48; trace: CE, Adam 1e-5, batch 128; random 64,600-sample crops; seed 1234). Each epoch scores the whole
dev list (every trial once, whole utterances), selects the best epoch on dev only, fits the detection
calibration / the tracing open-set threshold on dev, and stops early after --set patience=N epochs without gain.

LIST: any protocol format spoofscan reads (MultiAPI-Spoof "path label" or "path class", ASVspoof 2019/2021/5,
In-the-Wild, spoofscan native), paths relative to --data ROOT.

DIR receives: config.json (resolved), log.jsonl, state/ (exact resume), last.safetensors, best.safetensors
(load them with score / trace / features / the page), scores/dev-epoch-N.txt.

options:
  --task detect|trace       what to train (default detect)
  --config FILE.json        settings (any subset of DIR/config.json's fields)
  --set key=value           one setting, dotted keys, JSON values: --set optimizer.lr=1e-4 --set freeze=feature-encoder
  --init CKPT               start from a checkpoint: xlsr2_300m.pt (new head) or a whole model to fine-tune
  --preset tiny|xlsr-300m   model from scratch (default tiny; ignored with --init)
  --epochs N  --max-steps N --batch N  --accumulate K  --checkpoint-every STEPS  --lr LR  --seed S  --workers N
  --resume DIR              continue DIR exactly where it stopped (its config.json is used)
  --adapter A               WebGPU adapter (default: SPOOFSCAN_ADAPTER or auto)
  -h, --help                this help

Ctrl-C finishes the current step, saves the state and exits; --resume continues. A non-finite loss or gradient
stops the run naming the step and the batch's files, with the last good state kept.`;

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

function intFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`--${name} must be a non-negative integer, not "${v}"`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      task: { type: 'string' },
      data: { type: 'string' },
      train: { type: 'string' },
      dev: { type: 'string' },
      out: { type: 'string' },
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
      init: { type: 'string' },
      preset: { type: 'string' },
      epochs: { type: 'string' },
      'max-steps': { type: 'string' },
      batch: { type: 'string' },
      accumulate: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      workers: { type: 'string' },
      resume: { type: 'string' },
      adapter: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let config: TrainConfig;
  let dir: string;
  const resume = values.resume !== undefined;
  if (resume) {
    const others = Object.keys(values).filter((k) => !['resume', 'adapter', 'workers'].includes(k));
    if (others.length) throw new UserError(`--resume continues a run with its own config.json; drop ${others.map((k) => '--' + k).join(', ')}`);
    dir = values.resume!;
    const saved = (await new RunDir(dir).readConfig()) as TrainConfig;
    config = mergeConfig(defaultConfig(saved.task), saved, `${dir}/config.json`);
    if (values.workers !== undefined) config.workers = intFlag(values.workers, 'workers')!;
  } else {
    const task = (values.task ?? 'detect') as TrainTask;
    if (task !== 'detect' && task !== 'trace') throw new UserError(`--task must be detect or trace, not "${values.task}"`);
    if (!values.out) throw new UserError(`--out DIR is required\n(spoofscan train --help lists the options)`);
    dir = values.out;
    config = defaultConfig(task);
    if (values.config) config = mergeConfig(config, await readJson(values.config), values.config);
    for (const s of values.set ?? []) config = mergeConfig(config, parseSet(s), `--set ${s}`);
    const flags: Record<string, unknown> = {};
    const data: Record<string, unknown> = {};
    if (values.data !== undefined) data.root = values.data;
    if (values.train !== undefined) data.train = values.train;
    if (values.dev !== undefined) data.dev = values.dev;
    if (Object.keys(data).length) flags.data = data;
    if (values.init !== undefined) flags.init = values.init;
    if (values.preset !== undefined) flags.preset = values.preset;
    for (const [flag, key] of [['epochs', 'epochs'], ['max-steps', 'maxSteps'], ['batch', 'batch'], ['accumulate', 'accumulate'], ['checkpoint-every', 'checkpointEvery'], ['seed', 'seed'], ['workers', 'workers']] as const) {
      const n = intFlag(values[flag], flag);
      if (n !== undefined) flags[key] = n;
    }
    if (values.lr !== undefined) {
      const lr = Number(values.lr);
      if (!(lr > 0)) throw new UserError(`--lr must be a positive number, not "${values.lr}"`);
      flags.optimizer = { lr };
    }
    config = mergeConfig(config, flags, 'command line');
  }

  if (values.adapter) process.env.SPOOFSCAN_ADAPTER = values.adapter;
  const engine = await initEngine(adapterChoiceFromEnv());
  let stop = false;
  // Total steps are known once the lists are read: the events forward to the bar made then.
  let progress = trainProgress('train', config.epochs, 0);
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write('\nspoofscan train: stopping after this step (Ctrl-C again to quit at once)…\n');
  };
  const session = await openSession(config, dir, {
    resume,
    events: {
      step: (r, p) => progress.step?.(r, p),
      devProgress: (d, t) => progress.devProgress?.(d, t),
      epoch: (r) => progress.epoch?.(r),
      stopRequested: () => stop,
    },
    provenance: { corpus: config.data.root, adapter: engine.describe() },
  });
  progress = trainProgress('train', config.epochs, session.trainer.totalSteps);
  process.on('SIGINT', onSigint);
  try {
    const l = session.trainer.loop;
    console.error(
      `spoofscan train: ${config.task} on ${session.data.train.length} training / ${session.data.dev.length} dev trials, ` +
        `${session.trainer.stepsPerEpoch} steps per epoch (batch ${config.batch} × ${config.accumulate}), ` +
        `${session.resumed ? `resuming at epoch ${l.epoch + 1}, step ${l.step}` : `writing to ${dir}`}`,
    );
    const why = await session.trainer.run();
    progress.end();
    if (session.trainer.loop.epoch > 0) writeReport(join(dir, 'report.html'), runDirReportInput(dir));
    const best = session.trainer.loop.best;
    const what = { epochs: 'all epochs done', 'early-stop': 'stopped early (no dev improvement)', 'max-steps': 'reached --max-steps', interrupted: 'interrupted; continue with --resume ' + dir }[why];
    console.error(`spoofscan train: ${what}. ${best ? `Best epoch ${best.epoch} (dev ${config.task === 'detect' ? 'EER' : 'macro-F1'} ${config.task === 'detect' ? (100 * best.metric).toFixed(2) + ' %' : best.metric.toFixed(4)}): ${dir}/best.safetensors; report: ${dir}/report.html` : ''}`);
    return why === 'interrupted' ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    await session.close();
  }
}
