// A training run directory's text files → ReportInput (pure: the caller reads the files). Used by
// `spoofscan report DIR`; the files are the ones train/run-dir.node.ts writes:
//   config.json              `task` ('detect' | 'trace'), data.classNames
//   log.jsonl                one StepRecord / EpochRecord per line
//   scores/dev-epoch-N.txt   detection: `# score_type=bona_logit`, then `path score bonafide|spoof`
//                            tracing:   `# tracing: path top_prob truth predicted (tau=T)`, then `path p truth pred`

import { MetricsInputError, parentDirName, quoteLine, splitFields, splitLines } from '../metrics/index.ts';
import type { EpochRecord, LogRecord } from '../trainer.ts';
import type { DetectionInput, ReportInput, TracingInput } from './html.ts';

/** Parses log.jsonl (blank lines skipped; records of other types ignored). */
export function parseTrainingLog(text: string, source = 'log.jsonl'): LogRecord[] {
  const out: LogRecord[] = [];
  let n = 0;
  for (const line of splitLines(text)) {
    n++;
    if (line.trim() === '') continue;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      throw new MetricsInputError(`${source}:${n}: not JSON: ${quoteLine(line)}`);
    }
    if (r === null || typeof r !== 'object') throw new MetricsInputError(`${source}:${n}: not a JSON object: ${quoteLine(line)}`);
    const type = (r as { type?: unknown }).type;
    if (type === 'step' || type === 'epoch') out.push(r as LogRecord);
  }
  return out;
}

/** The epoch whose checkpoint is best.safetensors: the last epoch record with `best: true` (null if none). */
export function bestEpoch(log: readonly LogRecord[]): EpochRecord | null {
  let best: EpochRecord | null = null;
  for (const r of log) if (r.type === 'epoch' && r.best) best = r;
  return best;
}

function dataLines(text: string): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  let n = 0;
  for (const line of splitLines(text)) {
    n++;
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    out.push({ line: t, n });
  }
  return out;
}

/** Dev detection scores `path score bonafide|spoof`; the spoof group is the path's parent directory. */
export function parseDevDetectionScores(text: string, source: string): Omit<DetectionInput, 'name'> {
  const bonafide: number[] = [];
  const spoof: number[] = [];
  const spoofGroups: (string | undefined)[] = [];
  for (const { line, n } of dataLines(text)) {
    const f = splitFields(line);
    const score = Number(f[f.length - 2]);
    const label = f[f.length - 1];
    if (f.length < 3 || !Number.isFinite(score) || (label !== 'bonafide' && label !== 'spoof')) {
      throw new MetricsInputError(`${source}:${n}: expected \`path score bonafide|spoof\`, got ${quoteLine(line)}`);
    }
    const path = f.slice(0, -2).join(' ');
    if (label === 'bonafide') bonafide.push(score);
    else {
      spoof.push(score);
      spoofGroups.push(parentDirName(path));
    }
  }
  if (bonafide.length === 0 || spoof.length === 0) throw new MetricsInputError(`${source}: needs bona fide and spoof trials (has ${bonafide.length} and ${spoof.length})`);
  return { bonafide, spoof, spoofGroups };
}

/**
 * Dev tracing scores `path top_prob truth predicted` (names, or `unseen`). Class indices follow `classNames`
 * when given, else the sorted names seen in the file.
 */
export function parseDevTracingScores(text: string, source: string, classNames: readonly string[] | null): Omit<TracingInput, 'name'> & { threshold: number | null } {
  const rows: { truth: string; pred: string }[] = [];
  let threshold: number | null = null;
  for (const line of splitLines(text)) {
    const m = /^#.*\(tau=([^)]+)\)/.exec(line);
    if (m) {
      const t = Number(m[1]);
      threshold = Number.isFinite(t) ? t : null;
      break;
    }
    if (line.trim() !== '' && !line.trim().startsWith('#')) break;
  }
  for (const { line, n } of dataLines(text)) {
    const f = splitFields(line);
    if (f.length < 4 || !Number.isFinite(Number(f[f.length - 3]))) throw new MetricsInputError(`${source}:${n}: expected \`path top_prob truth predicted\`, got ${quoteLine(line)}`);
    rows.push({ truth: f[f.length - 2], pred: f[f.length - 1] });
  }
  if (rows.length === 0) throw new MetricsInputError(`${source}: no trials`);
  const names = classNames && classNames.length > 0 ? [...classNames] : [...new Set(rows.flatMap((r) => [r.truth, r.pred]).filter((x) => x !== 'unseen'))].sort();
  const index = new Map(names.map((c, i) => [c, i]));
  const K = names.length;
  const idx = (name: string, what: string): number => {
    if (name === 'unseen') return K;
    const k = index.get(name);
    if (k === undefined) throw new MetricsInputError(`${source}: ${what} class '${name}' is not one of the run's classes (${names.join(', ')})`);
    return k;
  };
  return { classNames: names, truth: rows.map((r) => idx(r.truth, 'true')), predicted: rows.map((r) => idx(r.pred, 'predicted')), threshold };
}

export interface RunFiles {
  /** the directory's name, for the title */
  name: string;
  /** parsed config.json */
  config: { task?: unknown; data?: { classNames?: unknown } };
  logText: string;
  /** the best epoch's dev score file text, or null when there is none */
  scoresText: string | null;
  scoresSource?: string;
}

/** The report of a training run: its curves and, when the best epoch's dev scores exist, their metrics and charts. */
export function runReportInput(run: RunFiles): ReportInput {
  const task = run.config.task;
  if (task !== 'detect' && task !== 'trace') throw new MetricsInputError(`config.json: task must be 'detect' or 'trace', got ${JSON.stringify(task)}`);
  const log = parseTrainingLog(run.logText);
  const best = bestEpoch(log);
  const input: ReportInput = {
    title: `spoofscan training report: ${run.name}`,
    subtitle: `${task === 'detect' ? 'Detection (bona fide vs spoof)' : 'API tracing'} run${best ? `; best dev epoch ${best.epoch} (step ${best.step})` : '; no best epoch yet'}`,
    notes: [],
    training: [{ name: run.name, log }],
  };
  const source = run.scoresSource ?? `scores/dev-epoch-${best?.epoch ?? '?'}.txt`;
  if (run.scoresText !== null && best) {
    const setName = `dev, epoch ${best.epoch}`;
    if (task === 'detect') input.detection = [{ name: setName, ...parseDevDetectionScores(run.scoresText, source) }];
    else {
      const cn = run.config.data?.classNames;
      const names = Array.isArray(cn) && cn.every((x) => typeof x === 'string') ? (cn as string[]) : null;
      input.tracing = [{ name: setName, ...parseDevTracingScores(run.scoresText, source, names) }];
    }
  } else {
    input.notes = [best ? `No dev scores for epoch ${best.epoch} (${source}): only the training curves are shown.` : 'No epoch has finished yet: only the training curves are shown.'];
  }
  return input;
}
