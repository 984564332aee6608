// Score-file readers for `spoofscan eval` / `spoofscan calibrate`. Pure TypeScript: feed it lines.
//
// Detection (one trial per line; tab-separated if the line has a tab, else whitespace-separated):
//   id score                        ASVspoof 2021 `trial score`, plain lists
//   id score label [group]          spoofscan `path<TAB>score<TAB>label[<TAB>group]`, MultiAPI `path score label`
//   id attack label score           ASVspoof 2019 CM score files (`LA_E_1 A07 spoof 1.23`)
//   a `filename cm-score` header line (ASVspoof 5) and `#` comments are skipped; `# score_type=NAME` is read.
// Tracing:
//   id class p0 p1 … p(K−1)         class = the scorer's prediction (0…K, K = unseen), p = probabilities
//                                   (or logits) over the K seen classes

import { MetricsInputError, quoteFirst, quoteLine } from './errors.ts';
import { findDuplicates, parseDetectionLabel, type DetectionLabel } from './protocol-labels.ts';
import { splitCsvLine } from '../data/protocols.ts';
import { interner, isBlankOrComment, parentDirName, parseFiniteNumber, parseIndex, splitFields } from './text.ts';

export interface DetectionScoreFile {
  source: string;
  ids: string[];
  scores: Float64Array;
  /** 1-based line number of each trial */
  lines: Int32Array;
  /** labels from the score file itself when every line carries one, else null */
  labels: DetectionLabel[] | null;
  /** when `labels` is null: which lines lack a label (count and first few), for error messages */
  unlabelled: string | null;
  /** groups from the score file (group column, attack column, or parent directory), aligned with ids */
  groups: (string | undefined)[];
  /** value of a `# score_type=…` header line, if any */
  scoreType: string | null;
  /** a column-header line (e.g. `filename\tcm-score`), if the file had one */
  header: string | null;
  /** the fields after the score on each line (tab-joined), for writers that keep them; null unless asked */
  rest: string[] | null;
}

export interface TracingScoreFile {
  source: string;
  ids: string[];
  /** the class column: the scorer's prediction in 0…K */
  predicted: Int32Array;
  /** row-major N × K probabilities (or logits) over the K seen classes */
  probs: Float64Array;
  /** K */
  nSeen: number;
  lines: Int32Array;
  scoreType: string | null;
}

const HEADER_FIRST = new Set(['filename', 'file', 'path', 'id', 'trial', 'utt', 'utterance', 'key']);

function scoreTypeOf(line: string): string | null {
  const m = /^\s*#\s*score_type\s*=\s*(\S+)/.exec(line);
  return m ? m[1] : null;
}

function throwProblems(source: string, problems: string[]): void {
  if (problems.length > 0) throw new MetricsInputError(`${source}: ${problems.join('; ')}`);
}

/** Column names a header may give each field (lower-cased). */
const SCORE_NAMES = ['score', 'cm-score', 'cm_score', 'llr'];
const LABEL_NAMES = ['label', 'cm-label', 'cm_label', 'key'];
const GROUP_NAMES = ['group', 'attack', 'api', 'system'];
const ID_NAMES = [...HEADER_FIRST];

interface Columns {
  id: number;
  score: number;
  label: number;
  group: number;
}

/** Columns named by a header line; null when the header names no score column but has only `id score`. */
function columnsOf(header: string[], source: string, lineNo: number): Columns {
  const names = header.map((h) => h.toLowerCase());
  const find = (cands: string[]) => {
    for (const c of cands) {
      const i = names.indexOf(c);
      if (i >= 0) return i;
    }
    return -1;
  };
  const score = find(SCORE_NAMES);
  if (score < 0) {
    if (names.length === 2) return { id: 0, score: 1, label: -1, group: -1 };
    throw new MetricsInputError(`${source}:${lineNo}: the header (${header.join(', ')}) names no score column; name it "score" (or cm-score / llr)`);
  }
  return { id: Math.max(0, find(ID_NAMES)), score, label: find(LABEL_NAMES), group: find(GROUP_NAMES) };
}

/** A JSON score file: an array of objects with a string `id` (or `file`/`path`) and a finite number `score`. */
function parseDetectionJson(text: string, source: string): { ids: string[]; scores: number[]; labels: (DetectionLabel | undefined)[]; groups: (string | undefined)[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new MetricsInputError(`${source}: starts like JSON but is not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(doc)) throw new MetricsInputError(`${source}: a JSON score file must be an array of {id, score} objects`);
  const out = { ids: [] as string[], scores: [] as number[], labels: [] as (DetectionLabel | undefined)[], groups: [] as (string | undefined)[] };
  doc.forEach((row: unknown, i) => {
    const o = row as Record<string, unknown> | null;
    const id = o && typeof o === 'object' ? (o.id ?? o.file ?? o.path) : undefined;
    if (typeof id !== 'string' || typeof o!.score !== 'number' || !Number.isFinite(o!.score)) {
      throw new MetricsInputError(`${source}: entry ${i} needs a string "id" (or "file") and a finite number "score"${o && typeof o === 'object' ? ` (has ${Object.keys(o).join(', ')})` : ''}`);
    }
    out.ids.push(id);
    out.scores.push(o!.score as number);
    out.labels.push(typeof o!.label === 'string' ? (parseDetectionLabel(o!.label) ?? undefined) : undefined);
    out.groups.push(typeof o!.group === 'string' ? o!.group : parentDirName(id));
  });
  return out;
}

/**
 * Reads a detection score file. Collects every bad line and throws once, with counts and examples.
 * A column-header line picks the columns by name (`score`, `label`, `group`, in any order); without one the
 * layouts listed at the top of this file apply. Comma-separated files (a comma and no tab on the first line)
 * and JSON arrays of {id, score[, label, group]} objects (`spoofscan score --format json`) are read too.
 */
export function parseDetectionScores(
  lines: Iterable<string>,
  source: string,
  opts: { keepRest?: boolean } = {},
): DetectionScoreFile {
  const ids: string[] = [];
  const scores: number[] = [];
  const lineNos: number[] = [];
  const labels: (DetectionLabel | undefined)[] = [];
  const groups: (string | undefined)[] = [];
  const rest: string[] | null = opts.keepRest ? [] : null;
  const intern = interner();
  let nUnlabelled = 0;
  const unlabelled: string[] = [];
  let scoreType: string | null = null;
  let header: string | null = null;
  let cols: Columns | null = null;
  let split: (line: string) => string[] = splitFields;
  let sawData = false;
  let lineNo = 0;
  let nBad = 0;
  const bad: string[] = [];
  let nShort = 0;
  const short: string[] = [];
  const iter = lines[Symbol.iterator]();
  for (let next = iter.next(); !next.done; next = iter.next()) {
    const raw = next.value;
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (isBlankOrComment(line)) {
      const st = scoreTypeOf(line);
      if (st) scoreType = st;
      continue;
    }
    const first = !sawData;
    sawData = true;
    if (first && /^\s*[[{]/.test(line)) {
      const parts = [line];
      for (let n = iter.next(); !n.done; n = iter.next()) parts.push(n.value);
      const j = parseDetectionJson(parts.join('\n'), source);
      j.ids.forEach((id, i) => {
        ids.push(id);
        scores.push(j.scores[i]);
        lineNos.push(i + 1);
        labels.push(j.labels[i]);
        groups.push(intern(j.groups[i]));
        if (j.labels[i] === undefined) nUnlabelled++;
        if (rest) rest.push(j.labels[i] ?? '');
      });
      if (nUnlabelled && unlabelled.length === 0) unlabelled.push(`${source}: JSON entries without a "label"`);
      break;
    }
    if (first && line.includes(',') && !line.includes('\t')) split = (l) => splitCsvFields(l);
    const f = split(line);
    if (f.length < 2) {
      nShort++;
      if (short.length < 5) short.push(`line ${lineNo}: ${quoteLine(line)}`);
      continue;
    }
    // A header: named like one (an id or score column name) and not numeric where a score would be.
    const named = HEADER_FIRST.has(f[0].toLowerCase()) || f.some((x) => SCORE_NAMES.includes(x.toLowerCase()));
    if (first && named && Number.isNaN(parseFiniteNumber(f[1])) && f.every((x) => Number.isNaN(parseFiniteNumber(x)))) {
      header = line;
      cols = columnsOf(f, source, lineNo);
      continue;
    }
    let label: DetectionLabel | undefined;
    let group: string | undefined;
    let v: number;
    if (cols) {
      v = f.length > cols.score ? parseFiniteNumber(f[cols.score]) : NaN;
      if (cols.label >= 0 && f.length > cols.label) label = parseDetectionLabel(f[cols.label]) ?? undefined;
      group = cols.group >= 0 && f.length > cols.group ? f[cols.group] : parentDirName(f[cols.id]);
    } else {
      // ASVspoof 2019 CM score file: id attack label score
      const asv19 = f.length === 4 && parseDetectionLabel(f[2]) !== null && !Number.isNaN(parseFiniteNumber(f[3])) && Number.isNaN(parseFiniteNumber(f[1]));
      v = parseFiniteNumber(asv19 ? f[3] : f[1]);
      if (asv19) {
        label = parseDetectionLabel(f[2]) ?? undefined;
        group = f[1] === '-' || f[1].toLowerCase() === 'bonafide' ? undefined : f[1];
      } else {
        if (f.length >= 3) label = parseDetectionLabel(f[2]) ?? undefined;
        group = f.length >= 4 ? f[3] : parentDirName(f[0]);
      }
      if (rest && !Number.isNaN(v)) rest.push(asv19 ? `${f[2]}\t${f[1]}` : f.slice(2).join('\t'));
    }
    if (Number.isNaN(v)) {
      nBad++;
      if (bad.length < 5) bad.push(`line ${lineNo}: ${quoteLine(line)}`);
      continue;
    }
    if (cols && rest) rest.push(f.filter((_, i) => i !== cols!.id && i !== cols!.score).join('\t'));
    ids.push(f[cols ? cols.id : 0]);
    scores.push(v);
    lineNos.push(lineNo);
    if (label === undefined) {
      nUnlabelled++;
      if (unlabelled.length < 5) unlabelled.push(`${source}:${lineNo} ${quoteLine(line)}`);
    }
    labels.push(label);
    groups.push(intern(group));
  }
  const problems: string[] = [];
  if (nBad > 0) {
    problems.push(`${nBad} line(s) have a non-numeric, NaN or infinite score; first: ${quoteFirst(bad, nBad)}`);
  }
  if (nShort > 0) problems.push(`${nShort} line(s) have fewer than 2 fields (id score); first: ${quoteFirst(short, nShort)}`);
  const dup = findDuplicates(ids, (i) => `line ${lineNos[i]}`);
  if (dup) problems.push(dup);
  throwProblems(source, problems);
  if (ids.length === 0) throw new MetricsInputError(`${source}: no scores`);
  return {
    source,
    ids,
    scores: Float64Array.from(scores),
    lines: Int32Array.from(lineNos),
    labels: nUnlabelled === 0 ? (labels as DetectionLabel[]) : null,
    unlabelled: nUnlabelled === 0 ? null : `${nUnlabelled} line(s) have no bonafide/spoof label${cols ? '' : ' in column 3'}; first: ${quoteFirst(unlabelled, nUnlabelled)}`,
    groups,
    scoreType,
    header,
    rest,
  };
}

/** One comma-separated line (double quotes as in RFC 4180); an unbalanced quote keeps the raw line as one field. */
function splitCsvFields(line: string): string[] {
  return (splitCsvLine(line) ?? [line]).map((x) => x.trim());
}

/** Reads a tracing score file `id class p0 … p(K−1)`; K is fixed by the first line. */
export function parseTracingScores(lines: Iterable<string>, source: string): TracingScoreFile {
  const ids: string[] = [];
  const predicted: number[] = [];
  const probs: number[] = [];
  const lineNos: number[] = [];
  let scoreType: string | null = null;
  let k = -1;
  let lineNo = 0;
  let sawData = false;
  let nBad = 0;
  const bad: string[] = [];
  for (const raw of lines) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (isBlankOrComment(line)) {
      const st = scoreTypeOf(line);
      if (st) scoreType = st;
      continue;
    }
    const f = splitFields(line);
    const first = !sawData;
    sawData = true;
    if (first && f.length >= 2 && HEADER_FIRST.has(f[0].toLowerCase()) && parseIndex(f[1]) < 0) continue;
    if (k < 0) {
      if (f.length < 4) {
        throw new MetricsInputError(
          `${source}:${lineNo}: a tracing score line needs \`id class p0 p1 …\` with at least 2 probabilities, got ${quoteLine(line)}` +
            (f.length === 2 ? ' (looks like a detection score file: use --task detect)' : ''),
        );
      }
      k = f.length - 2;
    }
    const cls = f.length >= 2 ? parseIndex(f[1]) : -1;
    let ok = f.length === k + 2 && cls >= 0 && cls <= k;
    const row: number[] = [];
    if (ok) {
      for (let c = 0; c < k; c++) {
        const v = parseFiniteNumber(f[2 + c]);
        if (Number.isNaN(v)) {
          ok = false;
          break;
        }
        row.push(v);
      }
    }
    if (!ok) {
      nBad++;
      if (bad.length < 5) bad.push(`line ${lineNo}: ${quoteLine(line)}`);
      continue;
    }
    ids.push(f[0]);
    predicted.push(cls);
    for (const v of row) probs.push(v);
    lineNos.push(lineNo);
  }
  const problems: string[] = [];
  if (nBad > 0) {
    problems.push(
      `${nBad} line(s) are not \`id class p0 … p${k - 1}\` with a class in 0…${k} and ${k} finite numbers; first: ${quoteFirst(bad, nBad)}`,
    );
  }
  const dup = findDuplicates(ids, (i) => `line ${lineNos[i]}`);
  if (dup) problems.push(dup);
  throwProblems(source, problems);
  if (ids.length === 0) throw new MetricsInputError(`${source}: no scores`);
  return {
    source,
    ids,
    predicted: Int32Array.from(predicted),
    probs: Float64Array.from(probs),
    nSeen: k,
    lines: Int32Array.from(lineNos),
    scoreType,
  };
}
