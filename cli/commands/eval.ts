// spoofscan eval: detection metrics (EER, ROCCH-EER, minDCF/actDCF in the ASVspoof 5 and MultiAPI-Spoof
// conventions, Cllr, per-attack breakdown) or tracing metrics from a score file and a protocol.
// The metrics themselves live in train/metrics/ (pure TypeScript); this file only reads files and prints.

import { statSync } from 'node:fs';
import { MAX_JSON_BYTES, MAX_LINE_BYTES, MAX_SCORE_LINE_BYTES, readLinesSync, readTextSync } from '../../train/data/text-file.node.ts';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { UsageError, UserError } from '../../common/errors.ts';
import { writeReport } from './report.ts';
import {
  MULTIAPI_UNSEEN_GROUPS,
  MetricsInputError,
  applyCalibration,
  breakdownJson,
  buildDetectionSet,
  buildTracingSet,
  detectionBreakdown,
  detectionReport,
  fmtInt,
  openSetPredict,
  parseCalibrationJson,
  parseDetectionScores,
  parseFiniteNumber,
  parseProtocol,
  parseTracingScores,
  quoteFirst,
  softmaxRows,
  tracingJson,
  tracingMetrics,
  tracingReport,
  type CalibrationFile,
  type Protocol,
} from '../../train/metrics/index.ts';

export const summary = 'EER, minDCF/actDCF (ASVspoof 5 and MultiAPI), Cllr, per-attack and tracing metrics from a score file';

const HELP = `usage: spoofscan eval --scores FILE [--protocol FILE] [options]

Scores a system from its score file against a protocol (key) file.

  --scores FILE        score file: \`id score\` per line (detection; also \`id score label [group]\`,
                       ASVspoof 5 \`filename<TAB>cm-score\` with header, ASVspoof 2019 \`id attack label score\`),
                       or \`id class p0 p1 …\` (tracing). Ids may be paths. Higher = more bona fide.
  --protocol FILE      labels: ASVspoof 2019 LA protocol, ASVspoof 2021 LA/DF keys, ASVspoof 5 tsv,
                       In-the-Wild meta.csv, MultiAPI-Spoof \`path label\` list (group = parent directory),
                       or a plain \`id label [group]\` list. Optional for detection when the score file
                       labels every trial itself (\`id score label\`).
  --task detect|trace  detection (default) or API tracing
  --unseen FILE        unseen group names (one per line or separated by spaces/commas, # comments):
                       adds seen and unseen pools to the per-attack breakdown
  --unseen-groups LIST comma-separated unseen group names; \`multiapi\` = MultiAPI-Spoof's list
                       (${MULTIAPI_UNSEEN_GROUPS.join(', ')})
  --subset NAME        ASVspoof 2021 keys: keep only trials of this subset (eval, progress, hidden);
                       score lines of other trials are skipped
  --calibration FILE   calibration from \`spoofscan calibrate\` (llr = a·score + c): actDCF and Cllr are
                       computed on the calibrated scores (EER, minDCF and thresholds stay on raw scores)
  --tau T              tracing: open-set threshold; predict unseen when max p < T (default: use the
                       class column of the score file as the prediction)
  --logits             tracing: the columns after the class are logits; apply softmax first
  --json               print one JSON object instead of tables
  --report FILE.html   also write a self-contained HTML report (DET curve, score histograms, per-attack
                       EER bars; tracing: confusion matrix), see spoofscan report
  -h, --help           this help

JSON keys (detection): eer, eer_threshold, rocch_eer, min_dcf, min_dcf_threshold, act_dcf,
act_dcf_threshold (ASVspoof 5 convention), min_dcf_multiapi, act_dcf_multiapi, cllr, min_tdcf,
n_bonafide, n_spoof, per_attack {group: same keys}, seen, unseen, … Rates are fractions (0.0142 = 1.42 %).
See docs/metrics.md.`;

// ---------------------------------------------------------------------------------------------
// shared helpers (also used by calibrate.ts)

export interface FlagSpec {
  /** flags that take a value */
  values: string[];
  /** boolean flags */
  booleans: string[];
}

/** Parses flags with node:util parseArgs (strict: unknown flags and positionals are errors). */
export function parseFlags(argv: string[], spec: FlagSpec, command: string): Map<string, string | true> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const v of spec.values) options[v] = { type: 'string' };
  for (const b of spec.booleans) options[b] = { type: 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (see spoofscan ${command} --help)`);
  }
  const out = new Map<string, string | true>();
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === 'string') out.set(k, v);
    else if (v === true) out.set(k, true);
  }
  return out;
}

export function flagString(flags: Map<string, string | true>, name: string): string | undefined {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

function checkReadable(path: string): void {
  try {
    statSync(path);
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Lines of a file, read in chunks (files larger than the longest JS string work), decoded as UTF-8, each at most
 * `maxLineBytes` long (train/data/text-file.node.ts). Throws a UserError when the file cannot be opened.
 */
export function* fileLines(path: string, maxLineBytes = MAX_LINE_BYTES): Generator<string> {
  checkReadable(path);
  yield* readLinesSync(path, { maxLineBytes });
}

/** Lines of a score file: as fileLines, with room for a JSON score file on one line (MAX_SCORE_LINE_BYTES). */
export function scoreLines(path: string): Generator<string> {
  return fileLines(path, MAX_SCORE_LINE_BYTES);
}

/** A small text file (calibration JSON), at most MAX_JSON_BYTES. */
export function readText(path: string): string {
  checkReadable(path);
  return readTextSync(path, { maxBytes: MAX_JSON_BYTES, maxLineBytes: MAX_JSON_BYTES });
}

export function readProtocol(path: string): Protocol {
  return parseProtocol(fileLines(path), path);
}

export function readCalibration(path: string): CalibrationFile {
  return parseCalibrationJson(readText(path), path);
}

/** Unseen group names from --unseen FILE and --unseen-groups LIST (`multiapi` expands to MultiAPI's list). */
export function unseenGroups(flags: Map<string, string | true>): string[] | undefined {
  const file = flagString(flags, 'unseen');
  const list = flagString(flags, 'unseen-groups');
  if (file === undefined && list === undefined) return undefined;
  const names: string[] = [];
  if (file !== undefined) {
    for (const line of fileLines(file)) {
      const t = line.replace(/#.*/, '').trim();
      if (t) names.push(...t.split(/[\s,]+/).filter(Boolean));
    }
  }
  if (list !== undefined) {
    for (const n of list.split(',').map((x) => x.trim()).filter(Boolean)) {
      if (n.toLowerCase() === 'multiapi') names.push(...MULTIAPI_UNSEEN_GROUPS);
      else names.push(n);
    }
  }
  return names;
}

/**
 * Heap bytes needed per byte of score file, measured on a 10-million-line MultiAPI-style score file with its
 * list (334 MB; the default ≈ 4 GB heap ran out, 12 GB worked): ids, protocol records and the id maps.
 */
const HEAP_PER_SCORE_BYTE = 14;

/** A warning when the score file is probably too large for the heap, else null (V8 cannot recover from OOM). */
export function memoryWarning(scoreFileBytes: number, heapLimitBytes: number): string | null {
  const need = scoreFileBytes * HEAP_PER_SCORE_BYTE;
  if (need <= 0.8 * heapLimitBytes) return null;
  const mb = Math.ceil((1.5 * need) / 2 ** 30) * 1024; // with headroom for garbage
  return (
    `warning: a ${Math.round(scoreFileBytes / 2 ** 20)} MB score file needs about ${Math.round(need / 2 ** 30)} GB of JavaScript heap, ` +
    `more than this Node process may use (${(heapLimitBytes / 2 ** 30).toFixed(1)} GB); if it runs out of memory, ` +
    `rerun with NODE_OPTIONS=--max-old-space-size=${mb}`
  );
}

/** Prints memoryWarning for a score file on stderr (before reading it). */
export function warnIfLarge(scoresPath: string): void {
  let size = 0;
  try {
    size = statSync(scoresPath).size;
  } catch {
    return; // the reader reports unreadable files
  }
  const w = memoryWarning(size, getHeapStatistics().heap_size_limit);
  if (w) console.error(w);
}

function asUserError(e: unknown): never {
  if (e instanceof MetricsInputError) throw new UserError(e.message);
  throw e;
}

// ---------------------------------------------------------------------------------------------

function evalDetect(flags: Map<string, string | true>, scoresPath: string, protocolPath: string | undefined): number {
  warnIfLarge(scoresPath);
  const scores = parseDetectionScores(scoreLines(scoresPath), scoresPath);
  const protocol = protocolPath ? readProtocol(protocolPath) : null;
  const subset = flagString(flags, 'subset');
  const set = buildDetectionSet(scores, protocol, { subset });
  const calPath = flagString(flags, 'calibration');
  const cal = calPath ? readCalibration(calPath) : null;
  const llr = cal ? { bonafide: applyCalibration(set.bonafide, cal), spoof: applyCalibration(set.spoof, cal) } : undefined;
  const unseen = unseenGroups(flags);
  const bd = detectionBreakdown(set.bonafide, set.spoof, set.spoofGroups, { unseen, llr });
  const calibrated = cal !== null || scores.scoreType === 'llr';
  const reportPath = flagString(flags, 'report');
  if (reportPath) {
    const detection = [{ name: scoresPath, bonafide: set.bonafide, spoof: set.spoof, spoofGroups: set.spoofGroups, unseen, llr }];
    writeReport(reportPath, { title: 'spoofscan eval: detection', subtitle: `${scoresPath}${protocolPath ? ` against ${protocolPath}` : ''}`, detection });
    console.error(`wrote ${reportPath}`);
  }
  if (flags.get('json')) {
    const doc = {
      task: 'detect',
      scores: scoresPath,
      protocol: protocolPath ?? null,
      protocol_format: protocol ? protocol.format : null,
      id_match: set.mode,
      subset: subset ?? null,
      n_skipped: set.skipped,
      score_type: scores.scoreType,
      calibrated,
      calibration: cal ? { a: cal.a, c: cal.c, prior: Number.isFinite(cal.prior) ? cal.prior : null, file: calPath } : null,
      ...breakdownJson(bd),
    };
    console.log(JSON.stringify(doc, null, 2));
    return 0;
  }
  const header = [
    'spoofscan eval: detection',
    `  scores    ${scoresPath}${scores.scoreType ? ` (score_type=${scores.scoreType})` : ''}`,
    protocol
      ? `  protocol  ${protocolPath} (${protocol.format}; ids matched ${set.mode === 'exact' ? 'exactly' : `by ${set.mode}`})`
      : '  protocol  none: labels from the score file',
  ];
  if (subset) header.push(`  subset    ${subset} (${fmtInt(set.skipped)} score line(s) of other subsets skipped)`);
  if (cal) header.push(`  calibration ${calPath}: llr = ${cal.a} * score + ${cal.c}`);
  header.push(`  trials    ${fmtInt(bd.overall.nBonafide)} bona fide, ${fmtInt(bd.overall.nSpoof)} spoof`);
  const llrNote = calibrated ? 'calibrated' : 'uncalibrated';
  console.log(detectionReport(bd, { header, llrNote }));
  return 0;
}

function evalTrace(flags: Map<string, string | true>, scoresPath: string, protocolPath: string | undefined): number {
  if (!protocolPath) throw new UserError('--task trace needs --protocol (a `path class` list)');
  for (const f of ['calibration', 'subset', 'unseen', 'unseen-groups']) {
    if (flags.has(f)) throw new UserError(`--${f} applies to --task detect only`);
  }
  warnIfLarge(scoresPath);
  const scores = parseTracingScores(scoreLines(scoresPath), scoresPath);
  const protocol = readProtocol(protocolPath);
  const set = buildTracingSet(scores, protocol);
  const K = scores.nSeen;
  const probs = scores.probs;
  if (flags.get('logits')) softmaxRows(probs, K);
  else {
    // probabilities must look like probabilities; logits need --logits
    const bad: string[] = [];
    let nBad = 0;
    for (let i = 0; i < scores.ids.length; i++) {
      let sum = 0;
      let ok = true;
      for (let c = 0; c < K; c++) {
        const p = probs[i * K + c];
        if (p < -1e-6 || p > 1 + 1e-6) ok = false;
        sum += p;
      }
      if (!ok || Math.abs(sum - 1) > 0.01) {
        nBad++;
        if (bad.length < 5) bad.push(`${scoresPath}:${scores.lines[i]} (sum ${sum.toPrecision(6)})`);
      }
    }
    if (nBad > 0) {
      throw new UserError(
        `${scoresPath}: ${nBad} line(s) do not hold probabilities (each in [0, 1], summing to 1 ± 0.01); first: ${quoteFirst(bad, nBad)}. ` +
          'If the columns are logits, pass --logits',
      );
    }
  }
  const tauText = flagString(flags, 'tau');
  let tau: number | null = null;
  let pred: Int32Array;
  if (tauText !== undefined) {
    tau = parseFiniteNumber(tauText);
    if (Number.isNaN(tau)) throw new UserError(`--tau must be a number, got '${tauText}'`);
    pred = new Int32Array(scores.ids.length);
    for (let i = 0; i < pred.length; i++) pred[i] = openSetPredict(probs, i * K, K, tau);
  } else pred = scores.predicted;
  const m = tracingMetrics(set.truth, pred, K);
  const reportPath = flagString(flags, 'report');
  if (reportPath) {
    const classNames = Array.from({ length: K }, (_, i) => `class ${i}`);
    const tracing = [{ name: scoresPath, classNames, truth: set.truth, predicted: pred, metrics: m, threshold: tau }];
    writeReport(reportPath, { title: 'spoofscan eval: API tracing', subtitle: `${scoresPath} against ${protocolPath}`, tracing });
    console.error(`wrote ${reportPath}`);
  }
  if (flags.get('json')) {
    const doc = {
      task: 'trace',
      scores: scoresPath,
      protocol: protocolPath,
      protocol_format: protocol.format,
      id_match: set.mode,
      tau,
      prediction: tau === null ? 'class column' : 'open-set rule',
      ...tracingJson(m),
    };
    console.log(JSON.stringify(doc, null, 2));
    return 0;
  }
  const header = [
    'spoofscan eval: API tracing',
    `  scores    ${scoresPath} (${K} seen classes; label ${K} = unseen)`,
    `  protocol  ${protocolPath} (${protocol.format}; ids matched ${set.mode === 'exact' ? 'exactly' : `by ${set.mode}`})`,
    `  predicted ${tau === null ? 'class column of the score file' : `open-set rule: unseen when max p < ${tau}, else argmax`}`,
    `  trials    ${fmtInt(m.nTrials)}`,
  ];
  console.log(tracingReport(m, header));
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(
    argv,
    { values: ['scores', 'protocol', 'task', 'unseen', 'unseen-groups', 'subset', 'calibration', 'tau', 'report'], booleans: ['json', 'logits'] },
    'eval',
  );
  if (flags.get('help')) {
    console.log(HELP);
    return 0;
  }
  const scoresPath = flagString(flags, 'scores');
  if (!scoresPath) throw new UserError('--scores FILE is required (see spoofscan eval --help)');
  const protocolPath = flagString(flags, 'protocol');
  const task = flagString(flags, 'task') ?? 'detect';
  try {
    if (task === 'detect') {
      for (const f of ['tau', 'logits']) if (flags.has(f)) throw new UserError(`--${f} applies to --task trace only`);
      return evalDetect(flags, scoresPath, protocolPath);
    }
    if (task === 'trace') return evalTrace(flags, scoresPath, protocolPath);
    throw new UserError(`--task must be detect or trace, got '${task}'`);
  } catch (e) {
    asUserError(e);
  }
}
