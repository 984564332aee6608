// Synthetic inputs for the report tests: seeded Gaussian scores, a tracing confusion, a training log, and a
// training directory laid out as `spoofscan train` writes it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogRecord } from '../../train/trainer.ts';
import type { ReportInput } from '../../train/report/index.ts';

/** Mulberry32 → standard normal by Box–Muller. */
export function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

export const ATTACKS = [
  { name: 'espeak-ng', mean: -3, n: 60, unseen: false },
  { name: 'elevenlabs', mean: -1.2, n: 50, unseen: false },
  { name: 'gtts', mean: -2.2, n: 40, unseen: false },
  { name: 'xttsv2', mean: 0.2, n: 45, unseen: true },
];

export function detectionData(seed = 1): { bonafide: number[]; spoof: number[]; spoofGroups: string[]; paths: { path: string; score: number; label: 'bonafide' | 'spoof' }[] } {
  const g = gaussian(seed);
  const bonafide = Array.from({ length: 120 }, () => 1.5 + g());
  const spoof: number[] = [];
  const spoofGroups: string[] = [];
  const paths: { path: string; score: number; label: 'bonafide' | 'spoof' }[] = bonafide.map((s, i) => ({ path: `dev/bonafide/b${i}.wav`, score: s, label: 'bonafide' }));
  for (const a of ATTACKS) {
    for (let i = 0; i < a.n; i++) {
      const s = a.mean + 1.1 * g();
      spoof.push(s);
      spoofGroups.push(a.name);
      paths.push({ path: `dev/${a.name}/${a.name}_${i}.wav`, score: s, label: 'spoof' });
    }
  }
  return { bonafide, spoof, spoofGroups, paths };
}

export const CLASSES = ['elevenlabs', 'espeak-ng', 'gtts', 'openai-tts', 'polly'];

/** truth/predicted with label K = unseen; a fixed, readable confusion. */
export function tracingData(): { truth: number[]; predicted: number[] } {
  const truth: number[] = [];
  const predicted: number[] = [];
  const K = CLASSES.length;
  const push = (t: number, p: number, n: number) => {
    for (let i = 0; i < n; i++) {
      truth.push(t);
      predicted.push(p);
    }
  };
  for (let c = 0; c < K; c++) {
    push(c, c, 14 + 2 * c);
    push(c, (c + 1) % K, 2);
    push(c, K, 1 + (c % 2));
  }
  push(K, K, 9);
  push(K, 0, 3);
  push(K, 3, 2);
  return { truth, predicted };
}

export function trainingLog(metricName: 'eer' | 'macroF1' = 'eer', epochs = 6, stepsPerEpoch = 12): LogRecord[] {
  const log: LogRecord[] = [];
  const g = gaussian(7);
  let step = 0;
  let best = Infinity;
  let bestF1 = -Infinity;
  for (let e = 1; e <= epochs; e++) {
    let sum = 0;
    for (let k = 0; k < stepsPerEpoch; k++) {
      step++;
      const loss = Math.max(0.02, 0.7 * Math.exp(-step / 30) + 0.08 + 0.05 * g());
      sum += loss;
      log.push({ type: 'step', step, epoch: e, loss, lr: 0.001, gradNorm: 2 + g(), clipsPerSec: 2.1, elapsed: step * 3.1 });
    }
    const eer = 0.3 * Math.exp(-e / 2.5) + 0.04 + (e === 4 ? 0.03 : 0);
    const f1 = 1 - eer * 1.5;
    const metric = metricName === 'eer' ? eer : f1;
    const isBest = metricName === 'eer' ? metric < best : metric > bestF1;
    if (isBest) {
      best = Math.min(best, metric);
      bestF1 = Math.max(bestF1, metric);
    }
    log.push({
      type: 'epoch',
      epoch: e,
      step,
      trainLoss: sum / stepsPerEpoch,
      metric,
      metricName,
      best: isBest,
      dev: metricName === 'eer' ? { eer, minDcf: eer * 2, actDcf: eer * 3, cllr: 0.4 } : { macroF1: f1, accuracy: f1, seenF1: f1, unseenF1: f1 - 0.1, threshold: 0.6 },
      perGroup: metricName === 'eer' ? { 'espeak-ng': 0, gtts: eer / 2 } : undefined,
      elapsed: step * 3.1 + 10,
    });
  }
  return log;
}

/** A full report input with every section, and hostile text in it. */
export function fullInput(): ReportInput {
  const d = detectionData();
  const t = tracingData();
  return {
    title: 'spoofscan report <test>',
    subtitle: 'synthetic scores',
    notes: ['Toy corpus: these numbers say nothing about real-world performance.'],
    detection: [{ name: 'eval', bonafide: d.bonafide, spoof: d.spoof, spoofGroups: d.spoofGroups, unseen: ['xttsv2'] }],
    tracing: [{ name: 'eval', classNames: CLASSES, truth: t.truth, predicted: t.predicted, threshold: 0.63 }],
    training: [{ name: 'detector', log: trainingLog('eer') }],
    examples: [
      { file: 'clips/<script>alert(1)</script>.wav', verdict: 'spoof', score: -2.31, detail: 'p(bona fide) = 0.09' },
      { file: 'clips/hello & "goodbye".wav', verdict: 'bona fide', score: 3.02 },
    ],
  };
}

/** Writes a training directory as `spoofscan train` lays it out. */
export function writeRunDir(dir: string, task: 'detect' | 'trace'): void {
  mkdirSync(join(dir, 'scores'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ task, data: { classNames: task === 'trace' ? CLASSES : null } }, null, 2));
  const log = trainingLog(task === 'detect' ? 'eer' : 'macroF1');
  writeFileSync(join(dir, 'log.jsonl'), log.map((r) => JSON.stringify(r)).join('\n') + '\n');
  let bestE = 0;
  for (const r of log) if (r.type === 'epoch' && r.best) bestE = r.epoch;
  if (task === 'detect') {
    const d = detectionData(bestE);
    writeFileSync(join(dir, 'scores', `dev-epoch-${bestE}.txt`), '# score_type=bona_logit\n' + d.paths.map((p) => `${p.path} ${p.score} ${p.label}`).join('\n') + '\n');
    // a decoy: another epoch's scores must not be used
    writeFileSync(join(dir, 'scores', `dev-epoch-1.txt`), '# score_type=bona_logit\nx/a.wav 1 bonafide\nx/b.wav 0 spoof\n');
  } else {
    const t = tracingData();
    const name = (k: number) => (k < CLASSES.length ? CLASSES[k] : 'unseen');
    writeFileSync(
      join(dir, 'scores', `dev-epoch-${bestE}.txt`),
      '# tracing: path top_prob truth predicted (tau=0.63)\n' + t.truth.map((tr, i) => `dev/${name(tr)}/c${i}.wav 0.${50 + (i % 49)} ${name(tr)} ${name(t.predicted[i])}`).join('\n') + '\n',
    );
  }
}
