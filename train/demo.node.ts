// The demo: the whole job on the bundled toy corpus (data/mini). Trains a tiny XLS-R + Nes2Net-LA detector and a
// tiny tracer from scratch (train split; model selection on dev), evaluates both once on the eval split (seen and
// unseen APIs), scores a few example clips with a plain-language verdict, and writes everything under one folder.
// Seeded: the same numbers on every run on one adapter. `spoofscan demo` is a thin wrapper over runDemo().
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector } from '../models/detector.ts';
import { writeFileAtomic } from '../models/io/atomic-write.node.ts';
import { fileSource } from '../models/io/file-source.node.ts';
import { readModelInfo, type ModelInfo } from '../models/model-info.ts';
import { TracingModel } from '../models/tracer/tracing-model.ts';
import { defaultConfig, mergeConfig, type TrainConfig, type TrainTask } from './config.ts';
import { decodeAudioFile } from './data/read-audio.node.ts';
import { labelIndex } from './data/protocols.ts';
import { detectionResult, groupOf, scoreList, tracingResult, type DetectionResult, type ScoredTrial, type TracingResult } from './evaluate.ts';
import { detectionReport, tracingReport } from './metrics/report.ts';
import { readList, openSession } from './session.node.ts';
import type { LogRecord, TrainEvents } from './trainer.ts';

export const MINI_ROOT = fileURLToPath(new URL('../data/mini/', import.meta.url));

/** The demo's schedule: small crops and a high learning rate so a model trained from scratch learns in minutes. */
export function demoConfig(task: TrainTask, quick: boolean): TrainConfig {
  const sfx = task === 'trace' ? '_tracing' : '';
  const list = (split: string) => join(MINI_ROOT, 'protocols', `${split}${sfx}.txt`);
  return mergeConfig(
    defaultConfig(task),
    {
      preset: 'tiny',
      data: { root: MINI_ROOT, train: list('train'), dev: list('dev') },
      crop: quick ? 8000 : 24000,
      // --quick checks the path: one window per clip keeps dev and eval scoring short.
      devCrop: quick ? 'first' : 'windows',
      batch: 8,
      epochs: quick ? 1 : task === 'detect' ? 3 : 5,
      maxSteps: quick ? 3 : 0,
      dropout: false,
      tracer: 'reference',
      optimizer: { lr: task === 'detect' ? 3e-4 : 5e-4 },
      patience: 2,
      workers: 1,
    },
    'demo',
  );
}

export interface DemoExample {
  file: string;
  truth: string;
  score: number;
  llr: number | null;
  verdict: string;
  api: string;
  apiProb: number;
}

export interface DemoResult {
  out: string;
  detection: DetectionResult;
  tracing: TracingResult;
  detectionText: string;
  tracingText: string;
  examples: DemoExample[];
  logs: { detect: LogRecord[]; trace: LogRecord[] };
  classNames: string[];
  info: { detect: ModelInfo; trace: ModelInfo };
  seconds: number;
}

export interface DemoEvents {
  stage(name: string): void;
  train(task: TrainTask, config: TrainConfig, totalSteps: number): TrainEvents;
  evalProgress(done: number, total: number): void;
}

/** Clips scored in the printed example table: human (an unseen speaker), seen and unseen TTS. */
const EXAMPLES = [
  'bonafide/conf-getpin.flac',
  'bonafide-librivox/sense_and_sensibility_01_austen_64kb-0870.flac',
  'flite-slt/conf-getpin.flac',
  'festival-kal/conf-getpin.flac',
  'espeak/conf-getpin.flac',
  'festival-slt-hts/conf-getpin.flac',
];

async function trainOne(task: TrainTask, out: string, quick: boolean, adapter: string, ev: DemoEvents): Promise<LogRecord[]> {
  const c = demoConfig(task, quick);
  ev.stage(task === 'detect' ? 'training the detector (bona fide vs spoof)' : 'training the API tracer (which TTS made it)');
  let events: TrainEvents = {};
  const session = await openSession(c, join(out, task === 'detect' ? 'detector' : 'tracer'), {
    resume: false,
    events: { step: (r, p) => events.step?.(r, p), devProgress: (d, t) => events.devProgress?.(d, t), epoch: (r) => events.epoch?.(r) },
    provenance: { corpus: 'data/mini (bundled toy corpus)', toy: true, adapter, note: 'trained by spoofscan demo from scratch on data/mini; a demonstration, not a real anti-spoofing model' },
  });
  events = ev.train(task, c, session.trainer.totalSteps);
  try {
    await session.trainer.run();
    return await session.run.readLog();
  } finally {
    await session.close();
  }
}

async function openModel<M>(file: string, open: (s: Awaited<ReturnType<typeof fileSource>>) => Promise<{ weights: { metadata: Record<string, string> | null } } & M>): Promise<M & { info: ModelInfo }> {
  const src = await fileSource(file);
  try {
    const r = await open(src);
    return { ...r, info: readModelInfo(r.weights.metadata ?? undefined, file) };
  } finally {
    await src.close();
  }
}

/** P(bona fide) from a calibrated LLR at equal priors. */
const posterior = (llr: number) => 1 / (1 + Math.exp(-llr));

export async function runDemo(out: string, opts: { quick: boolean; adapter: string; events: DemoEvents }): Promise<DemoResult> {
  const t0 = Date.now();
  const ev = opts.events;
  await mkdir(out, { recursive: true });
  const logs = {
    detect: await trainOne('detect', out, opts.quick, opts.adapter, ev),
    trace: await trainOne('trace', out, opts.quick, opts.adapter, ev),
  };

  ev.stage('evaluating both models once on the eval split (seen and unseen APIs)');
  const detCfg = demoConfig('detect', opts.quick);
  const trCfg = demoConfig('trace', opts.quick);
  const evalDet = await readList(join(MINI_ROOT, 'protocols', 'eval.txt'), detCfg);
  const evalTr = await readList(join(MINI_ROOT, 'protocols', 'eval_tracing.txt'), trCfg);
  const trainGroups = new Set((await readList(detCfg.data.train, detCfg)).map(groupOf));
  const unseen = [...new Set(evalDet.filter((r) => r.label === 'spoof').map(groupOf))].filter((g) => !trainGroups.has(g)).sort();
  const clip = { crop: detCfg.devCrop, window: detCfg.crop, batch: 8 };

  const det = await openModel(join(out, 'detector', 'best.safetensors'), async (s) => {
    const r = await Detector.open(s);
    return { ...r, model: r.detector };
  });
  const tr = await openModel(join(out, 'tracer', 'best.safetensors'), (s) => TracingModel.open(s));
  try {
    const total = evalDet.length + evalTr.length;
    const detTrials = await scoreList(det.model, evalDet, decodeAudioFile, clip, (d) => ev.evalProgress(d, total));
    const trTrials = await scoreList(tr.model, evalTr, decodeAudioFile, { ...clip, window: trCfg.crop }, (d) => ev.evalProgress(evalDet.length + d, total));
    // The calibration fitted on dev (stored in the checkpoint) turns eval scores into LLRs: never refitted on eval.
    const cal = det.info.calibration;
    const detection = detectionResult(detTrials, unseen, cal ? { a: cal.a, c: cal.c, prior: cal.prior ?? 0.5, objective: NaN, iterations: 0, gradient: 0, converged: true, separable: cal.separable ?? false } : undefined);
    const classNames = tr.info.classes ?? [];
    const tracing = tracingResult(trTrials, tr.model.classes, tr.info.threshold ?? 0.5);

    const detectionText = detectionReport(detection.breakdown, {
      header: [`detection on the eval split: ${evalDet.length} trials, unseen APIs: ${unseen.join(', ')}`, 'score = bona fide logit; actDCF and Cllr on LLRs from the dev calibration'],
      llrNote: 'calibrated on dev',
    });
    const names = [...classNames, 'unseen'];
    const tracingText =
      tracingReport(tracing.metrics, [`API tracing on the eval split: ${evalTr.length} spoofed trials, τ = ${tracing.threshold.toFixed(4)} (chosen on dev)`]) +
      '\n\n  classes: ' + names.map((n, i) => `${i} = ${n}`).join(', ');

    const examples: DemoExample[] = [];
    const byPath = new Map<string, { d?: ScoredTrial; t?: number }>();
    detTrials.forEach((t) => byPath.set(t.record.path, { d: t }));
    trTrials.forEach((t, i) => {
      const e = byPath.get(t.record.path) ?? {};
      e.t = i;
      byPath.set(t.record.path, e);
    });
    for (const rel of EXAMPLES) {
      const path = join(MINI_ROOT, rel);
      const e = byPath.get(path);
      if (!e?.d) continue;
      const score = e.d.logits[1];
      const llr = cal ? cal.a * score + cal.c : null;
      const bona = llr !== null ? llr >= 0 : e.d.logits[1] >= e.d.logits[0];
      // A calibration fitted on perfectly separated dev scores is overconfident: no probability is shown then.
      const p = llr !== null && !cal?.separable ? ` (P(bona fide) = ${(100 * posterior(llr)).toFixed(1)} % at equal priors)` : '';
      let api = '-';
      let apiProb = NaN;
      if (e.t !== undefined) {
        api = names[tracing.predicted[e.t]];
        apiProb = tracing.topProb[e.t];
      }
      examples.push({
        file: rel,
        truth: labelIndex(e.d.record.label) === 1 ? 'bona fide' : `spoof (${groupOf(e.d.record)}${unseen.includes(groupOf(e.d.record)) ? ', unseen' : ''})`,
        score,
        llr,
        verdict: bona ? `sounds like a real human${p}` : `synthetic speech${p}${api !== '-' ? `; ${api === 'unseen' ? 'made by a TTS system not seen in training' : `most likely made by ${api} (${(100 * apiProb).toFixed(0)} %)`}` : ''}`,
        api,
        apiProb,
      });
    }
    const result: DemoResult = { out, detection, tracing, detectionText, tracingText, examples, logs, classNames, info: { detect: det.info, trace: tr.info }, seconds: (Date.now() - t0) / 1000 };
    await writeDemoFiles(result, detTrials, trTrials);
    return result;
  } finally {
    det.model.dispose();
    tr.model.dispose();
  }
}

async function writeDemoFiles(r: DemoResult, det: ScoredTrial[], tr: ScoredTrial[]): Promise<void> {
  const rel = (p: string) => (p.startsWith(MINI_ROOT) ? p.slice(MINI_ROOT.length) : p);
  await writeFileAtomic(join(r.out, 'eval-scores.txt'), '# score_type=bona_logit (eval split, best dev epoch)\nid\tscore\tlabel\n' + det.map((t) => `${rel(t.record.path)}\t${t.logits[1]}\t${labelIndex(t.record.label) === 1 ? 'bonafide' : 'spoof'}`).join('\n') + '\n');
  await writeFileAtomic(join(r.out, 'eval-tracing.txt'), `# tracing on the eval split: id truth predicted top_prob (tau=${r.tracing.threshold})\n` + tr.map((t, i) => `${rel(t.record.path)}\t${r.tracing.truth[i]}\t${r.tracing.predicted[i]}\t${r.tracing.topProb[i]}`).join('\n') + '\n');
  const m = r.detection.breakdown;
  await writeFileAtomic(
    join(r.out, 'summary.json'),
    JSON.stringify(
      {
        seconds: r.seconds,
        detection: { eer: m.overall.eer, minDcf: m.overall.minDcf, actDcf: m.overall.actDcf, cllr: m.overall.cllr, seenEer: m.seen?.eer ?? null, unseenEer: m.unseen?.eer ?? null, devEer: r.info.detect.provenance?.dev?.eer ?? null },
        tracing: { macroF1: r.tracing.metrics.macro.f1, accuracy: r.tracing.metrics.accuracy, unseenRejection: r.tracing.metrics.unseenRejection, threshold: r.tracing.threshold, devMacroF1: r.info.trace.provenance?.dev?.macroF1 ?? null },
        examples: r.examples,
      },
      null,
      1,
    ) + '\n',
  );
}

/** Copies the demo's best models to `dir` (how models/pretrained/ is made). */
export async function installModels(out: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await cp(join(out, 'detector', 'best.safetensors'), join(dir, 'detector.safetensors'));
  await cp(join(out, 'tracer', 'best.safetensors'), join(dir, 'tracer.safetensors'));
}

