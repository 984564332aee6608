// Protocol labels for `spoofscan eval`/`calibrate`: label + attack/group (+ subset) per trial. A thin
// adapter over the one protocol parser, ../data/protocols.ts (formats of spec data.md §3): it
// reads ids as written (no audio paths resolved, no files checked), names the formats as `eval` reports
// them, and summarises problems with counts and the first few offending lines. Pure TypeScript.
//
//   asvspoof2019-la / asvspoof2021-la / asvspoof2021-df / asvspoof5 / in-the-wild: as in data.md
//   list             MultiAPI-Spoof detection and tracing lists, ASVspoof 5 keys (`filename<TAB>cm-label`
//                    header), native `path<TAB>label` lists; group = parent directory of the path
//   list-with-group  native lists whose first line has the group column (`path<TAB>label<TAB>group`)

import {
  detectProtocolFormat,
  firstDataLine,
  parentDirName as listParentDir,
  parseBinaryLabel,
  readProtocol,
  splitCsvLine,
  type ProtocolFormat as DataFormat,
  type ProtocolLineIssue,
} from '../data/protocols.ts';
import { MetricsInputError, quoteFirst, quoteLine } from './errors.ts';
import { interner, parentDirName, splitFields } from './text.ts';

export type DetectionLabel = 'bonafide' | 'spoof';

export type ProtocolFormat =
  | 'asvspoof2019-la'
  | 'asvspoof2021-la'
  | 'asvspoof2021-df'
  | 'asvspoof5'
  | 'in-the-wild'
  | 'list'
  | 'list-with-group';

export interface ProtocolTrial {
  /** trial name (ASVspoof), file (In-the-Wild) or path (lists), as written */
  id: string;
  /** detection label, or a tracing class index */
  label: DetectionLabel | number;
  /** attack/system ID (ASVspoof), parent directory (MultiAPI lists) or the group column; undefined if none */
  group?: string;
  /** ASVspoof 2021 subset column (eval, progress, hidden) */
  subset?: string;
  codec?: string;
  speaker?: string;
  /** 1-based line number in the protocol file */
  line: number;
}

export interface Protocol {
  source: string;
  format: ProtocolFormat;
  trials: ProtocolTrial[];
  /** true when the format has a subset column (ASVspoof 2021) */
  hasSubsets: boolean;
}

/** Maps a detection label string to bonafide/spoof (case-insensitive); null if unknown. */
export const parseDetectionLabel: (token: string) => DetectionLabel | null = parseBinaryLabel;

/**
 * The name `eval` reports for a format the data reader detected; null for those it does not read.
 * Every `<id> <label> [<group>]` list is a list here, also space-separated with a group column.
 */
function metricsFormat(format: DataFormat | null, firstLine: string): ProtocolFormat | null {
  const f = splitFields(firstLine);
  const isList = (f.length === 2 || f.length === 3) && (parseBinaryLabel(f[1]) !== null || /^\d+$/.test(f[1]));
  if (isList || format === 'multiapi' || format === 'multiapi-tracing' || format === 'native') return f.length === 3 ? 'list-with-group' : 'list';
  return format === null || format === 'multiapi-composition' ? null : format; // composition: not bona fide / spoof
}

/**
 * Lists are read as native lists (`path<TAB>label[<TAB>group]`, label words or class indices on any line),
 * their whitespace-separated lines first turned into TAB-separated ones (such paths hold no spaces).
 */
function asNativeList(ls: readonly string[]): string {
  return ls.map((l) => (l.includes('\t') ? l : l.trim().split(/\s+/).join('\t'))).join('\n');
}

/** The group metrics use: none for bona fide, `-` or In-the-Wild; a list's parent directory as text.ts names it. */
function metricsGroup(format: ProtocolFormat, id: string, group: string | undefined): string | undefined {
  if (format === 'in-the-wild' || group === undefined) return undefined;
  if ((format === 'list' || format === 'list-with-group') && group === (listParentDir(id) || undefined)) return parentDirName(id);
  return group === '-' || group === '' || group.toLowerCase() === 'bonafide' ? undefined : group;
}

/**
 * Reads a protocol / key / list file. Errors (unknown labels, wrong column counts, invalid lines,
 * duplicate ids) are collected and thrown together with counts and the first few offending lines.
 */
export function parseProtocol(lines: Iterable<string>, source: string): Protocol {
  const ls = Array.from(lines);
  const first = firstDataLine(ls);
  if (first < 0) throw new MetricsInputError(`${source}: no trials`);
  const text = ls.join('\n');
  const detected = detectProtocolFormat(text, source);
  const format = metricsFormat(detected, ls[first]);
  if (!format) {
    throw new MetricsInputError(
      `${source}:${first + 1}: unrecognised protocol format ${quoteLine(ls[first])} (${splitFields(ls[first]).length} columns). Expected an ` +
        'ASVspoof 2019/2021/5 protocol, In-the-Wild meta.csv, or a `<id> <label> [<group>]` list with labels ' +
        'bonafide/bona-fide/genuine/real/spoof/fake/spoofed or class indices',
    );
  }
  const isList = format === 'list' || format === 'list-with-group';
  const { records, lineNos, issues } = readProtocol(isList ? asNativeList(ls) : text, isList ? 'native' : format, { file: source, asWritten: true, keepDuplicates: true });
  const intern = interner();
  const trials = records.map((r, i): ProtocolTrial => {
    const t: ProtocolTrial = { id: r.path, label: r.label, line: lineNos[i] };
    const group = metricsGroup(format, r.path, r.group);
    if (group !== undefined) t.group = intern(group);
    if (r.subset !== undefined) t.subset = intern(r.subset);
    if (r.codec !== undefined) t.codec = intern(r.codec);
    if (r.speaker !== undefined) t.speaker = intern(r.speaker);
    return t;
  });
  const problems = summarise(issues, ls, source, format);
  const dup = findDuplicates(trials.map((t) => t.id), (i) => `${source}:${trials[i].line}`);
  if (dup) problems.push(dup);
  if (problems.length > 0) throw new MetricsInputError(`${source}: ${problems.join('; ')}`);
  if (trials.length === 0) throw new MetricsInputError(`${source}: no trials`);
  return { source, format, trials, hasSubsets: format === 'asvspoof2021-la' || format === 'asvspoof2021-df' };
}

/** One message per kind of problem: a count and the first few places. */
function summarise(issues: readonly ProtocolLineIssue[], ls: readonly string[], source: string, format: ProtocolFormat): string[] {
  const of = (kind: ProtocolLineIssue['kind']) => issues.filter((i) => i.kind === kind);
  const problems: string[] = [];
  const columns = of('columns');
  if (columns.length > 0) {
    const shown = columns.slice(0, 5).map((i) => {
      const line = ls[i.line - 1] ?? '';
      const count = format === 'in-the-wild' ? `${splitCsvLine(line)?.length ?? 0} fields, header has 3` : `${splitFields(line).length} columns`;
      return `${source}:${i.line} ${quoteLine(line)} (${count})`;
    });
    problems.push(`${columns.length} line(s) do not have the column count of the ${format} format; first: ${quoteFirst(shown, columns.length)}`);
  }
  const labels = of('label');
  if (labels.length > 0) {
    const shown = labels.slice(0, 5).map((i) => `${source}:${i.line} ${quoteLine(i.token ?? '')}`);
    problems.push(
      `${labels.length} line(s) have an unknown label (expected bonafide/bona-fide/genuine/real, spoof/fake/spoofed, or a class index); ` +
        `first: ${quoteFirst(shown, labels.length)}`,
    );
  }
  const other = of('other');
  if (other.length > 0) {
    const shown = other.slice(0, 5).map((i) => `${source}${i.line > 0 ? `:${i.line}` : ''} (${i.reason})`);
    problems.push(`${other.length} line(s) are not valid ${format} lines; first: ${quoteFirst(shown, other.length)}`);
  }
  return problems;
}

/**
 * Finds duplicate ids. Returns null, or a message with the number of duplicated ids and the first few,
 * each with the places it occurs.
 */
export function findDuplicates(ids: readonly string[], where: (index: number) => string): string | null {
  const first = new Map<string, number>();
  const dups = new Map<string, number[]>();
  for (let i = 0; i < ids.length; i++) {
    const prev = first.get(ids[i]);
    if (prev === undefined) first.set(ids[i], i);
    else {
      const d = dups.get(ids[i]);
      if (d) d.push(i);
      else dups.set(ids[i], [prev, i]);
    }
  }
  if (dups.size === 0) return null;
  const shown: string[] = [];
  for (const [id, idx] of dups) {
    if (shown.length >= 5) break;
    shown.push(`${quoteLine(id)} at ${idx.slice(0, 3).map(where).join(', ')}${idx.length > 3 ? ', …' : ''}`);
  }
  let extra = 0;
  for (const idx of dups.values()) extra += idx.length - 1;
  return `${dups.size} duplicate id(s) (${extra} extra line(s)); first: ${quoteFirst(shown, dups.size)}`;
}
