// spoofscan train end to end on lists cut from data/mini: bad input is refused before training starts (naming the
// file and line); a short run learns (loss falls, dev EER beats chance) and writes everything `score`, `report` and
// the page read; a NaN stops the run keeping the last saved state; tracing learns beyond chance.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { run as score } from '../../cli/commands/score.ts';
import { run as runTrain } from '../../cli/commands/train.ts';
import { assign } from '../../kernels/index.ts';
import { full } from '../../engine/index.ts';
import { readModelInfo } from '../../models/model-info.ts';
import { openSafetensors } from '../../models/io/safetensors.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { defaultConfig, mergeConfig } from '../../train/config.ts';
import { openSession } from '../../train/session.node.ts';
import type { EpochRecord, LogRecord, StepRecord } from '../../train/trainer.ts';
import { useEngine } from '../helpers/engine.ts';
import { MINI, subset, tempDir, writeList } from './mini-lists.ts';

// End-to-end training runs take 40–240 s on a quiet 2-core machine; give them room when the cores are shared.
vi.setConfig({ testTimeout: 600_000 });

useEngine();

/** Runs a command quietly; returns its exit code and what it printed. */
async function quiet(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = console.log;
  const e = console.error;
  const w = process.stderr.write.bind(process.stderr);
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await fn(), out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = o;
    console.error = e;
    process.stderr.write = w;
  }
}

const readLog = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogRecord);

describe('spoofscan train', () => {
  const dir = tempDir('train');
  const train = writeList(dir, 'train.txt', subset('train', 24, 24, 5));
  const dev = writeList(dir, 'dev.txt', subset('dev', 11, 22, 3));
  const base = ['--data', MINI, '--train', train, '--dev', dev, '--set', 'crop=8000', '--set', 'devCrop=full', '--set', 'dropout=false', '--batch', '8', '--lr', '1e-3', '--workers', '0'];

  it('refuses bad lists before training, naming the file and line', async () => {
    const missing = writeList(dir, 'missing.txt', [...subset('train', 2, 2), 'bonafide/no-such-clip.flac bona-fide']);
    await expect(runTrain(['--data', MINI, '--train', missing, '--dev', dev, '--out', join(dir, 'x1')])).rejects.toThrow(/1 of 5 listed audio files are missing:[\s\S]*missing\.txt:5: .*no-such-clip\.flac/);
    const tracing = writeList(dir, 'tracing.txt', readFileSync(join(MINI, 'protocols', 'dev_tracing.txt'), 'utf8').split('\n').filter(Boolean).slice(0, 4));
    await expect(runTrain(['--data', MINI, '--train', tracing, '--dev', dev, '--out', join(dir, 'x2')])).rejects.toThrow(/tracing\.txt:1: label \d is a class number; detection needs bonafide \/ spoof labels/);
    const oneClass = writeList(dir, 'one-class.txt', subset('dev', 0, 4));
    await expect(runTrain(['--data', MINI, '--train', train, '--dev', oneClass, '--out', join(dir, 'x3')])).rejects.toThrow(/one-class\.txt: needs both bona fide and spoof trials \(has 0 bona fide, 4 spoof\)/);
    const empty = writeList(dir, 'empty.txt', []);
    await expect(runTrain(['--data', MINI, '--train', empty, '--dev', dev, '--out', join(dir, 'x4')])).rejects.toThrow(/empty\.txt/);
    await expect(runTrain(['--task', 'trace', '--data', MINI, '--train', train, '--dev', dev, '--out', join(dir, 'x5')])).rejects.toThrow(/label "(bonafide|spoof)" is not a class number/);
    for (const x of ['x1', 'x2', 'x3', 'x4', 'x5']) expect(existsSync(join(dir, x, 'state', 'latest.json'))).toBe(false);
  });

  it('a short detection run learns: loss falls, dev EER beats chance; best.safetensors scores with its provenance', async () => {
    const out = join(dir, 'detect');
    const r = await quiet(() => runTrain([...base, '--epochs', '2', '--out', out]));
    expect(r.code).toBe(0);
    const log = readLog(out);
    const steps = log.filter((x): x is StepRecord => x.type === 'step');
    const epochs = log.filter((x): x is EpochRecord => x.type === 'epoch');
    expect(steps).toHaveLength(12);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(epochs[1].trainLoss).toBeLessThan(epochs[0].trainLoss);
    expect(Math.min(...epochs.map((e) => e.metric))).toBeLessThan(0.4);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ task: 'detect', crop: 8000, batch: 8, optimizer: { lr: 1e-3, weightDecay: 1e-4 }, classWeights: [0.1, 0.9] });
    // Every dev trial scored exactly once per epoch.
    const devScores = readFileSync(join(out, 'scores', 'dev-epoch-1.txt'), 'utf8').trim().split('\n').slice(1);
    expect(devScores).toHaveLength(33);
    expect(new Set(devScores.map((l) => l.split(' ')[0])).size).toBe(33);
    // best.safetensors carries what score needs, and score uses it.
    const src = await fileSource(join(out, 'best.safetensors'));
    const info = readModelInfo((await openSafetensors(src)).metadata ?? undefined, 'best');
    await src.close();
    expect(info).toMatchObject({ task: 'detect', classes: ['spoof', 'bonafide'], provenance: { trained: true } });
    expect(info.calibration && Number.isFinite(info.calibration.a)).toBe(true);
    const s = await quiet(() => score(['--model', join(out, 'best.safetensors'), '--crop', 'full', '--out', join(dir, 's.txt'), '--list', dev, '--root', MINI]));
    expect(s.code).toBe(0);
    expect(s.err).toMatch(/trained on .*epoch \d/);
    expect(readFileSync(join(dir, 's.txt'), 'utf8')).toMatch(/^# score_type=bona_logit[\s\S]*\nid\tscore\tdecision\tlabel\n/);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    // A second run into the same folder is refused; --resume of a finished run returns at once.
    await expect(runTrain([...base, '--epochs', '2', '--out', out])).rejects.toThrow(/already holds a training run; continue it with --resume/);
    expect((await quiet(() => runTrain(['--resume', out]))).code).toBe(0);
    expect(readLog(out)).toHaveLength(log.length);
  });

  it('fine-tunes from a checkpoint: frozen front-end unchanged, accumulation, clipping, warm-up + cosine, keep-N', async () => {
    const init = join(dir, 'detect', 'best.safetensors');
    const out = join(dir, 'finetune');
    const args = ['--init', init, '--set', 'freeze=all', '--accumulate', '2', '--set', 'clipGradNorm=0.5', '--set', 'keep=1', '--set', 'schedule.kind=cosine', '--set', 'schedule.warmupSteps=1'];
    const r = await quiet(() => runTrain([...base, ...args, '--epochs', '2', '--out', out]));
    expect(r.code, r.err).toBe(0);
    const steps = readLog(out).filter((x): x is StepRecord => x.type === 'step');
    expect(steps).toHaveLength(6); // 6 micro-batches per epoch, 2 per step, 2 epochs
    expect(steps[0].lr).toBeCloseTo(1e-3); // warm-up of one step reaches the base rate, then cosine decays
    expect(steps[5].lr).toBeLessThan(steps[1].lr);
    const read = async (f: string) => {
      const src = await fileSource(f);
      try {
        const st = await openSafetensors(src);
        return new Map(await Promise.all(st.entries.map(async (e) => [e.name, (await st.read(e)).data as Float32Array] as const)));
      } finally {
        await src.close();
      }
    };
    const [before, after] = [await read(init), await read(join(out, 'last.safetensors'))];
    let frontEndMoved = 0;
    let headMoved = 0;
    for (const [name, v] of after) {
      if (!(v instanceof Float32Array)) continue;
      const changed = v.some((x, i) => x !== (before.get(name) as Float32Array)[i]);
      if (name.startsWith('xlsr.')) frontEndMoved += Number(changed);
      else if (!/running_|num_batches/.test(name)) headMoved += Number(changed);
    }
    expect(frontEndMoved).toBe(0);
    expect(headMoved).toBeGreaterThan(10);
    expect(readdirSync(join(out, 'epochs'))).toEqual(['epoch-2.safetensors']);
  });

  it('a NaN stops the run naming the step and the files, and keeps the last saved state', async () => {
    const out = join(dir, 'nan');
    const c = mergeConfig(defaultConfig('detect'), { data: { root: MINI, train, dev }, crop: 4000, batch: 8, epochs: 1, checkpointEvery: 1, dropout: false, workers: 0 }, 'test');
    let poisoned = false;
    const session = await openSession(c, out, {
      resume: false,
      events: {
        step: (rec) => {
          if (rec.step === 2 && !poisoned) {
            poisoned = true;
            const [, p] = [...session.model.trainableParameters()].find(([n]) => n.startsWith('nes2net.'))!;
            const nan = full(p.shape, NaN);
            assign(p, nan);
            nan.dispose();
          }
        },
      },
    });
    try {
      await expect(session.trainer.run()).rejects.toThrow(/non-finite (loss|gradient norm) at step 3 \(epoch 1\), batch of .*\.flac.*; the last saved state is kept/);
    } finally {
      await session.close();
    }
    expect(JSON.parse(readFileSync(join(out, 'state', 'latest.json'), 'utf8')).state).toMatch(/^step-00000002-/);
  });

  it('a short tracing run beats chance on dev and stores the class names and the open-set threshold', async () => {
    const lines = readFileSync(join(MINI, 'protocols', 'train_tracing.txt'), 'utf8').split('\n').filter(Boolean);
    const perClass = (ls: string[], n: number) => [...new Set(ls.map((l) => l.split(' ')[1]))].flatMap((k) => ls.filter((l) => l.split(' ')[1] === k).slice(0, n));
    const ttrain = writeList(dir, 'ttrain.txt', perClass(lines, 8));
    const tdev = writeList(dir, 'tdev.txt', perClass(readFileSync(join(MINI, 'protocols', 'dev_tracing.txt'), 'utf8').split('\n').filter(Boolean), 4));
    const out = join(dir, 'trace');
    const r = await quiet(() =>
      runTrain(['--task', 'trace', '--data', MINI, '--train', ttrain, '--dev', tdev, '--set', 'crop=8000', '--set', 'devCrop=full', '--set', 'dropout=false', '--set', 'tracer=reference', '--batch', '8', '--lr', '5e-4', '--epochs', '3', '--workers', '0', '--out', out]),
    );
    expect(r.code).toBe(0);
    const epochs = readLog(out).filter((x): x is EpochRecord => x.type === 'epoch');
    expect(Math.max(...epochs.map((e) => e.dev.accuracy))).toBeGreaterThan(2 / 7);
    const src = await fileSource(join(out, 'best.safetensors'));
    const info = readModelInfo((await openSafetensors(src)).metadata ?? undefined, 'best');
    await src.close();
    expect(info.classes).toEqual(['espeak-ng', 'espeak-ng-klatt', 'flite-kal', 'flite-slt', 'flite-awb', 'festival-kal', 'festival-ked']);
    expect(info.threshold).toBeGreaterThan(0);
  });
});
