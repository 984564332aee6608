// A training run in Node: reads and checks the lists (every problem before training starts, naming the file and
// line), builds or restores the model, optimizer and loop position, and runs the Trainer against a RunDir.
// The CLI (`spoofscan train`) and the demo are thin wrappers over this.
import { DataError } from './data/errors.ts';
import { readTextSync } from './data/text-file.node.ts';
import { fileSource } from '../models/io/file-source.node.ts';
import type { SpoofModel } from '../models/spoof-model.ts';
import { buildModel } from './build-model.ts';
import { ConfigError, validateConfig, type TrainConfig } from './config.ts';
import { createNodeLoader, checkFilesExist } from './data/loader.node.ts';
import { decodeAudioFile } from './data/read-audio.node.ts';
import type { DataLoader } from './data/loader.ts';
import { detectProtocolFormat, labelIndex, parentDirName, parseProtocol, PROTOCOL_FORMATS, type ProtocolFormat, type TrialRecord } from './data/protocols.ts';
import { RunDir } from './run-dir.node.ts';
import { Trainer, type TrainEvents } from './trainer.ts';
import type { Provenance } from '../models/model-info.ts';

export class DataSetupError extends Error {
  override name = 'DataSetupError';
  readonly userFacing = true;
}

/** Reads one list in the configured (or detected) format, paths joined onto the data root. */
export async function readList(file: string, c: TrainConfig): Promise<TrialRecord[]> {
  let text: string;
  try {
    text = readTextSync(file);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataSetupError(`${file}: cannot read the list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const format = (c.data.format ?? detectProtocolFormat(text, file)) as ProtocolFormat | null;
  if (!format) throw new DataSetupError(`${file}: cannot tell the list format; set data.format to one of ${PROTOCOL_FORMATS.join(', ')}`);
  if (!PROTOCOL_FORMATS.includes(format)) throw new DataSetupError(`data.format "${format}" is not one of ${PROTOCOL_FORMATS.join(', ')}`);
  const records = parseProtocol(text, format, { file, root: c.data.root });
  if (!records.length) throw new DataSetupError(`${file}: the list is empty`);
  return records;
}

export interface PreparedData {
  train: TrialRecord[];
  dev: TrialRecord[];
  /** Detection: ['spoof', 'bonafide']; tracing: the seen classes by index. */
  classNames: string[];
}

/** Checks the lists against the task: labels it knows, every class present, a dev list with two classes. */
export function checkLists(c: TrainConfig, train: TrialRecord[], dev: TrialRecord[]): PreparedData {
  const trainFile = c.data.train;
  const devFile = c.data.dev;
  if (c.task === 'detect') {
    for (const [file, recs] of [[trainFile, train], [devFile, dev]] as const) {
      const bad = recs.find((r) => typeof r.label === 'number');
      if (bad) throw new DataSetupError(`${bad.source}: label ${bad.label} is a class number; detection needs bonafide / spoof labels (is ${file} a tracing list? use --task trace)`);
      const b = recs.filter((r) => r.label === 'bonafide').length;
      if (!b || b === recs.length) throw new DataSetupError(`${file}: needs both bona fide and spoof trials (has ${b} bona fide, ${recs.length - b} spoof)`);
    }
    return { train, dev, classNames: ['spoof', 'bonafide'] };
  }
  for (const [file, recs] of [[trainFile, train], [devFile, dev]] as const) {
    const bad = recs.find((r) => typeof r.label !== 'number');
    if (bad) throw new DataSetupError(`${bad.source}: label "${bad.label}" is not a class number; tracing lists are "path class" (is ${file} a detection list? use --task detect)`);
  }
  const K = Math.max(...train.map((r) => labelIndex(r.label))) + 1;
  const counts = new Array<number>(K).fill(0);
  for (const r of train) counts[labelIndex(r.label)]++;
  const absent = counts.flatMap((n, k) => (n ? [] : [k]));
  if (absent.length) throw new DataSetupError(`${trainFile}: classes ${absent.join(', ')} of 0…${K - 1} have no training trial`);
  const over = dev.find((r) => labelIndex(r.label) > K);
  if (over) throw new DataSetupError(`${over.source}: class ${over.label} is not one of the ${K} training classes (0…${K - 1}) or ${K} = unseen`);
  const devSeen = new Set(dev.map((r) => labelIndex(r.label)).filter((k) => k < K));
  if (devSeen.size < 2) throw new DataSetupError(`${devFile}: needs trials of at least two seen classes to select a model on (has ${devSeen.size})`);
  return { train, dev, classNames: c.data.classNames ?? classNamesFromPaths(train, K) };
}

/** A class's name: the one directory all its training files share (MultiAPI-Spoof layout), else "class N". */
export function classNamesFromPaths(train: readonly TrialRecord[], K: number): string[] {
  const dirs = Array.from({ length: K }, () => new Set<string>());
  for (const r of train) dirs[labelIndex(r.label)].add(parentDirName(r.path));
  return dirs.map((d, k) => (d.size === 1 ? [...d][0] : `class ${k}`));
}

export interface Session {
  trainer: Trainer;
  model: SpoofModel;
  run: RunDir;
  data: PreparedData;
  loader: DataLoader;
  resumed: boolean;
  close(): Promise<void>;
}

/** Sets up a run in `dir` (new, or resumed from its saved state when `resume`). */
export async function openSession(config: TrainConfig, dir: string, opts: { resume: boolean; events?: TrainEvents; provenance?: Partial<Provenance> }): Promise<Session> {
  const c = validateConfig(config);
  const run = new RunDir(dir);
  const train = await readList(c.data.train, c);
  const dev = await readList(c.data.dev, c);
  const data = checkLists(c, train, dev);
  await checkFilesExist(data.train);
  await checkFilesExist(data.dev);
  await run.prepare();
  if (!opts.resume && run.hasState()) throw new ConfigError(`${dir} already holds a training run; continue it with --resume ${dir}, or choose another --out`);
  // Tracing class names derived from the lists are recorded, so a resumed run and the report use the same ones.
  if (c.task === 'trace' && !c.data.classNames) c.data.classNames = data.classNames;
  if (!opts.resume) await run.writeConfig(c);
  const model = await buildModel(c, data.classNames.length, (p) => fileSource(p));
  let loader: DataLoader | null = null;
  let trainer: Trainer | null = null;
  try {
    loader = await createNodeLoader(data.train, {
      batchSize: c.batch,
      dropLast: data.train.length >= c.batch,
      shuffle: true,
      seed: c.seed,
      workers: c.workers,
      skipFileCheck: true,
      pipeline: { policy: 'repeat-random', length: c.crop, seed: c.seed, rawboost: c.rawboost },
    });
    trainer = new Trainer({ config: c, model, train: loader, dev: data.dev, readDev: decodeAudioFile, classNames: data.classNames, store: run, events: opts.events, provenance: opts.provenance });
    if (opts.resume && run.hasState()) {
      const snap = await run.loadState();
      trainer.restore(snap);
      await run.truncateLog(snap.loop.logLines);
    } else await run.truncateLog(0);
  } catch (e) {
    trainer?.dispose();
    await loader?.source.close?.();
    model.dispose();
    throw e;
  }
  const l = loader;
  const t = trainer;
  return {
    trainer: t,
    model,
    run,
    data,
    loader: l,
    resumed: opts.resume && t.loop.step + t.loop.epoch > 0,
    async close() {
      t.dispose();
      await l.source.close?.();
      model.dispose();
    },
  };
}
