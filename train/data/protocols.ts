// Protocol and metadata readers (spec data.md §3): the one protocol parser, used by training/`spoofscan audio`
// and (through train/metrics/protocol-labels.ts, with paths as written) by `spoofscan eval`/`calibrate`.
// Every reader turns text into canonical records {path, label, group?, speaker?, codec?, subset?}; all
// problems in a file (malformed lines, unknown labels, duplicate paths) are collected and thrown together
// as one ProtocolError naming file:line (readProtocol returns them, with their kind, instead).
// A leading column-header line (the ASVspoof 5 key file's `filename<TAB>cm-label`) is skipped.
// Browser-shared: no file-system access here (the missing-file check, checkFilesExist, lives in loader.node.ts).

import { ProtocolError, type ProtocolIssue } from './errors.ts';

/** A problem on one line, with its kind (and the offending label) for readers that summarise issues. */
export interface ProtocolLineIssue extends ProtocolIssue {
  kind: 'columns' | 'label' | 'duplicate' | 'other';
  /** the unknown label word, for kind 'label' */
  token?: string;
}

export type Label = 'bonafide' | 'spoof' | number;

export interface TrialRecord {
  path: string;
  /** Binary detection label, or a class index (tracing, composition). */
  label: Label;
  /** Attack/API group for per-group metrics: attack id (ASVspoof) or parent directory (MultiAPI). */
  group?: string;
  speaker?: string;
  codec?: string;
  subset?: string;
  /** Where the record came from, "file:line", for error messages. */
  source: string;
}

export type ProtocolFormat =
  | 'multiapi' // <path> <label>
  | 'multiapi-tracing' // <path> <int>
  | 'multiapi-composition' // <path> _ _ <label>
  | 'asvspoof2019-la'
  | 'asvspoof2021-la'
  | 'asvspoof2021-df'
  | 'asvspoof5'
  | 'in-the-wild'
  | 'native';

export const PROTOCOL_FORMATS: ProtocolFormat[] = [
  'multiapi',
  'multiapi-tracing',
  'multiapi-composition',
  'asvspoof2019-la',
  'asvspoof2021-la',
  'asvspoof2021-df',
  'asvspoof5',
  'in-the-wild',
  'native',
];

export interface ParseOptions {
  /** File name used in messages and, for `native`, to resolve relative paths. */
  file?: string;
  /**
   * Directory audio paths are joined onto (absolute paths ignore it). MultiAPI/ITW: the data root;
   * ASVspoof: the audio folder (e.g. `…/ASVspoof2019_LA_train/flac`). Default: none (paths as written).
   */
  root?: string;
  /** ASVspoof audio extension; default '.flac'. */
  extension?: string;
  /** ASVspoof 2021: keep only trials of these subsets (column 8), e.g. ['eval']. Default: all. */
  subsets?: string[];
  /** Keep paths exactly as written (no root, list directory or extension): for label-only readers (metrics). */
  asWritten?: boolean;
  /** Keep every line of a duplicated path (the caller reports duplicates itself). */
  keepDuplicates?: boolean;
}

/** Binary class index as in the reference code: spoof 0, bona fide 1; class labels stay as they are. */
export function labelIndex(label: Label): number {
  return label === 'bonafide' ? 1 : label === 'spoof' ? 0 : label;
}

const BONAFIDE_WORDS = new Set(['bona-fide', 'bonafide', 'genuine', 'real']);
const SPOOF_WORDS = new Set(['spoof', 'fake', 'spoofed']);

/** MultiAPI-Spoof label words (case-sensitive as in the reference loader, plus lower-casing). */
export function parseBinaryLabel(word: string): 'bonafide' | 'spoof' | null {
  const w = word.toLowerCase();
  if (BONAFIDE_WORDS.has(w)) return 'bonafide';
  if (SPOOF_WORDS.has(w)) return 'spoof';
  return null;
}

const COMPOSITION_LABELS: Record<string, number> = {
  bonafide_0: 0,
  bonafide_bonafide: 1,
  spoof_bonafide: 2,
  bonafide_spoof: 3,
  spoof_spoof: 4,
};

// ---- paths (POSIX-style; Windows drive paths count as absolute) ----

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

export function joinPath(root: string | undefined, p: string): string {
  if (!root || isAbsolutePath(p)) return p;
  const r = root.endsWith('/') ? root.slice(0, -1) : root;
  return `${r}/${p.startsWith('./') ? p.slice(2) : p}`;
}

export function dirName(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}

/** Name of the parent directory of a path ("…/<api_dir>/<file>" → "api_dir"); '' if none. */
export function parentDirName(p: string): string {
  const parts = p.split(/[\\/]/).filter((s) => s.length > 0);
  return parts.length >= 2 ? parts[parts.length - 2] : '';
}

// ---- the readers ----

interface Ctx {
  file: string;
  issues: ProtocolLineIssue[];
  records: TrialRecord[];
  /** line of each record, parallel to `records` */
  lineNos: number[];
  seen: Map<string, number>;
  keepDuplicates: boolean;
}

function add(ctx: Ctx, line: number, rec: Omit<TrialRecord, 'source'>): void {
  if (!ctx.keepDuplicates) {
    const prev = ctx.seen.get(rec.path);
    if (prev !== undefined) return report(ctx, line, 'duplicate', `duplicate path '${rec.path}' (first on line ${prev})`);
    ctx.seen.set(rec.path, line);
  }
  const r = rec as TrialRecord; // a fresh literal from the reader: completed in place (no copy per line)
  r.source = `${ctx.file}:${line}`;
  ctx.records.push(r);
  ctx.lineNos.push(line);
}

function report(ctx: Ctx, line: number, kind: ProtocolLineIssue['kind'], reason: string, token?: string): void {
  ctx.issues.push({ file: ctx.file, line, kind, reason, ...(token === undefined ? {} : { token }) });
}

/** An issue reporter for one line; `token` marks an unknown label. */
function issueAt(ctx: Ctx, line: number): (reason: string, token?: string) => void {
  return (reason, token) => report(ctx, line, token === undefined ? 'other' : 'label', reason, token);
}

/** Audio path of a trial: as written, or joined onto `root` with the format's extension. */
function audioPath(opts: ParseOptions, name: string, ext = ''): string {
  return opts.asWritten ? name : joinPath(opts.root, name + ext);
}

const HEADER_FIRST = new Set(['filename', 'file', 'path', 'id', 'trial', 'utt', 'utterance', 'key', 'speaker', 'speaker_id', 'audio']);

/** A column-header line (`filename<TAB>cm-label`, the ASVspoof 5 key file's first line): no field is a label. */
export function isHeaderLine(line: string): boolean {
  const f = line.includes('\t') ? line.split('\t').map((x) => x.trim()) : line.trim().split(/\s+/);
  return (
    f.length >= 2 &&
    HEADER_FIRST.has(f[0].toLowerCase()) &&
    f.slice(1).every((x) => parseBinaryLabel(x) === null && !/^\d+$/.test(x))
  );
}

function lines(text: string): string[] {
  const ls = text.split(/\r?\n/);
  if (ls.length && ls[ls.length - 1] === '') ls.pop();
  return ls;
}

function isBlankOrComment(line: string): boolean {
  const t = line.trimStart();
  return t === '' || t.startsWith('#');
}

/** Index of the first data line of a protocol's lines (skipping blanks, comments and one column-header line), or -1. */
export function firstDataLine(ls: readonly string[]): number {
  let header = false;
  for (let i = 0; i < ls.length; i++) {
    if (isBlankOrComment(ls[i])) continue;
    if (!header && isHeaderLine(ls[i])) {
      header = true;
      continue;
    }
    return i;
  }
  return -1;
}

/** The lines with a leading column-header line blanked out (line numbers stay as in the file). */
function withoutHeader(text: string): string[] {
  const ls = lines(text);
  const i = ls.findIndex((l) => !isBlankOrComment(l));
  if (i >= 0 && isHeaderLine(ls[i])) ls[i] = '';
  return ls;
}

/** Calls `row` for each non-blank line, split on whitespace, with its line number and issue reporter. */
function eachRow(ls: string[], ctx: Ctx, row: (cols: string[], ln: number, issue: (reason: string, token?: string) => void) => void): void {
  ls.forEach((raw, i) => {
    const line = raw.trim();
    if (line) row(line.split(/\s+/), i + 1, issueAt(ctx, i + 1));
  });
}

function columns(ctx: Ctx, n: number, lineNo: number, cols: string[], what: string): boolean {
  if (cols.length === n) return true;
  report(ctx, lineNo, 'columns', `expected ${n} columns (${what}), found ${cols.length}`);
  return false;
}

function readMultiApi(ls: string[], ctx: Ctx, opts: ParseOptions, kind: 'detection' | 'tracing' | 'composition'): void {
  eachRow(ls, ctx, (cols, ln, issue) => {
    let label: Label | null;
    let word: string;
    if (kind === 'composition') {
      if (!columns(ctx, 4, ln, cols, '<path> _ _ <label>')) return;
      word = cols[3];
      label = word in COMPOSITION_LABELS ? COMPOSITION_LABELS[word] : null;
      if (label === null) return issue(`unknown composition label '${word}' (expected ${Object.keys(COMPOSITION_LABELS).join(', ')})`, word);
    } else {
      if (!columns(ctx, 2, ln, cols, kind === 'detection' ? '<path> <label>' : '<path> <class>')) return;
      word = cols[1];
      if (kind === 'detection') {
        label = parseBinaryLabel(word);
        if (!label) return issue(`unknown label '${word}' (expected bona-fide/bonafide/genuine/real or spoof/fake/spoofed)`, word);
      } else {
        if (!/^\d+$/.test(word)) return issue(`class must be a non-negative integer, found '${word}'`, word);
        label = Number(word);
      }
    }
    const path = audioPath(opts, cols[0]);
    add(ctx, ln, { path, label, group: parentDirName(cols[0]) || undefined });
  });
}

function readAsvspoof2019(ls: string[], ctx: Ctx, opts: ParseOptions): void {
  const ext = opts.extension ?? '.flac';
  eachRow(ls, ctx, (cols, ln, issue) => {
    if (!columns(ctx, 5, ln, cols, 'SPEAKER_ID AUDIO_FILE_NAME - SYSTEM_ID KEY')) return;
    const [speaker, name, dash, system, key] = cols;
    if (dash !== '-') return issue(`column 3 must be '-', found '${dash}'`);
    if (key !== 'bonafide' && key !== 'spoof') return issue(`unknown key '${key}' (expected bonafide or spoof)`, key);
    if (key === 'bonafide' && system !== '-') return issue(`bona fide trial with system '${system}' (expected '-')`);
    if (key === 'spoof' && !/^A\d\d$/.test(system)) return issue(`spoof trial with system '${system}' (expected A01–A19)`);
    add(ctx, ln, { path: audioPath(opts, name, ext), label: key, group: key === 'bonafide' ? 'bonafide' : system, speaker });
  });
}

function readAsvspoof2021(ls: string[], ctx: Ctx, opts: ParseOptions, track: 'LA' | 'DF'): void {
  const ext = opts.extension ?? '.flac';
  const n = track === 'LA' ? 8 : 13;
  const header =
    track === 'LA'
      ? 'speaker trial codec transmission attack key trim subset'
      : 'speaker trial codec source attack key trim subset vocoder_type + 4';
  eachRow(ls, ctx, (cols, ln, issue) => {
    if (!columns(ctx, n, ln, cols, header)) return;
    const [speaker, trial, codec, , attack, key, , subset] = cols;
    if (key !== 'bonafide' && key !== 'spoof') return issue(`unknown key '${key}' (expected bonafide or spoof)`, key);
    if (!['eval', 'progress', 'hidden'].includes(subset)) return issue(`unknown subset '${subset}' (expected eval, progress or hidden)`);
    if (opts.subsets && !opts.subsets.includes(subset)) return;
    add(ctx, ln, {
      path: audioPath(opts, trial, ext),
      label: key,
      group: key === 'bonafide' ? 'bonafide' : attack,
      speaker,
      codec,
      subset,
    });
  });
}

function readAsvspoof5(ls: string[], ctx: Ctx, opts: ParseOptions): void {
  const ext = opts.extension ?? '.flac';
  eachRow(ls, ctx, (cols, ln, issue) => {
    if (cols.length === 6)
      return issue('6-column line: this is the early baseline format; ASVspoof 5 protocols have 10 space-separated columns');
    if (!columns(ctx, 10, ln, cols, 'SPEAKER_ID FLAC_FILE_NAME GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP')) return;
    const [speaker, name, gender, codec, , , , attack, key] = cols;
    if (gender !== 'F' && gender !== 'M' && gender !== '-') return issue(`unknown gender '${gender}' (expected F or M)`);
    if (key !== 'bonafide' && key !== 'spoof') return issue(`unknown key '${key}' (expected bonafide or spoof)`, key);
    if (key === 'bonafide' && attack !== 'bonafide') return issue(`bona fide trial with attack label '${attack}'`);
    add(ctx, ln, {
      path: audioPath(opts, name, ext),
      label: key,
      group: attack,
      speaker,
      codec: codec === '-' ? undefined : codec,
    });
  });
}

/** Splits one CSV line (RFC 4180 quotes, "" escapes). Returns null on an unterminated quote. */
export function splitCsvLine(line: string): string[] | null {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  let quoted = false;
  while (i < line.length) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else cur += ch;
    } else if (ch === '"' && cur === '') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
    i++;
  }
  if (quoted) return null;
  out.push(cur);
  return out;
}

function readInTheWild(text: string, ctx: Ctx, opts: ParseOptions): void {
  const ls = lines(text);
  const header = ls.length ? splitCsvLine(ls[0].replace(/^\uFEFF/, '').trim()) : null;
  if (!header || header.join(',') !== 'file,speaker,label') {
    report(ctx, 1, 'other', `expected header 'file,speaker,label', found '${ls[0] ?? ''}'`);
    return;
  }
  ls.slice(1).forEach((raw, i) => {
    const ln = i + 2;
    const line = raw.trim();
    if (!line) return;
    const issue = issueAt(ctx, ln);
    const cols = splitCsvLine(line);
    if (!cols) return issue('unterminated quoted field');
    if (cols.length !== 3) return report(ctx, ln, 'columns', `expected 3 comma-separated fields (file,speaker,label), found ${cols.length}`);
    const [file, speaker, word] = cols;
    if (!file) return issue('empty file name');
    const label = word === 'bona-fide' ? 'bonafide' : word === 'spoof' ? 'spoof' : null;
    if (!label) return issue(`unknown label '${word}' (expected bona-fide or spoof)`, word);
    add(ctx, ln, { path: audioPath(opts, file), label, speaker, group: label === 'bonafide' ? 'bonafide' : 'spoof' });
  });
}

function readNative(ls: string[], ctx: Ctx, opts: ParseOptions): void {
  // Paths relative to the list file's directory (or `root` when given).
  const base = opts.asWritten ? undefined : (opts.root ?? (opts.file ? dirName(opts.file) : undefined));
  ls.forEach((raw, i) => {
    const ln = i + 1;
    if (isBlankOrComment(raw)) return;
    const issue = issueAt(ctx, ln);
    const cols = raw.replace(/\r$/, '').split('\t');
    if (cols.length < 2 || cols.length > 3)
      return report(ctx, ln, 'columns', `expected <path><TAB><label>[<TAB><group>], found ${cols.length} tab-separated field(s)`);
    const [p, word, group] = cols.map((c) => c.trim());
    if (!p) return issue('empty path');
    let label: Label | null = parseBinaryLabel(word);
    if (!label && /^\d+$/.test(word)) label = Number(word);
    if (label === null) return issue(`unknown label '${word}' (expected bonafide/spoof or a class index)`, word);
    add(ctx, ln, { path: joinPath(base === '.' ? undefined : base, p), label, group: group || parentDirName(p) || undefined });
  });
}

type Reader = (text: string, ctx: Ctx, opts: ParseOptions) => void;

const READERS: Record<ProtocolFormat, Reader> = {
  multiapi: (text, ctx, opts) => readMultiApi(withoutHeader(text), ctx, opts, 'detection'),
  'multiapi-tracing': (text, ctx, opts) => readMultiApi(withoutHeader(text), ctx, opts, 'tracing'),
  'multiapi-composition': (text, ctx, opts) => readMultiApi(withoutHeader(text), ctx, opts, 'composition'),
  'asvspoof2019-la': (text, ctx, opts) => readAsvspoof2019(withoutHeader(text), ctx, opts),
  'asvspoof2021-la': (text, ctx, opts) => readAsvspoof2021(withoutHeader(text), ctx, opts, 'LA'),
  'asvspoof2021-df': (text, ctx, opts) => readAsvspoof2021(withoutHeader(text), ctx, opts, 'DF'),
  asvspoof5: (text, ctx, opts) => readAsvspoof5(withoutHeader(text), ctx, opts),
  'in-the-wild': readInTheWild,
  native: (text, ctx, opts) => readNative(withoutHeader(text), ctx, opts),
};

export interface ProtocolReading {
  records: TrialRecord[];
  /** line number of each record, parallel to `records` */
  lineNos: number[];
  issues: ProtocolLineIssue[];
}

/**
 * Reads one protocol file's text, collecting every problem instead of throwing (see parseProtocol).
 * A leading column-header line (the ASVspoof 5 key file's `filename cm-label`) is skipped.
 */
export function readProtocol(text: string, format: ProtocolFormat, opts: ParseOptions = {}): ProtocolReading {
  const ctx: Ctx = { file: opts.file ?? '<protocol>', issues: [], records: [], lineNos: [], seen: new Map(), keepDuplicates: !!opts.keepDuplicates };
  const read = Object.hasOwn(READERS, format) ? READERS[format] : undefined;
  if (!read) throw new ProtocolError([{ file: ctx.file, line: 0, reason: `unknown protocol format '${format as string}'` }]);
  read(text, ctx, opts);
  return { records: ctx.records, lineNos: ctx.lineNos, issues: ctx.issues };
}

/** Parses one protocol file's text. Throws ProtocolError listing every problem found. */
export function parseProtocol(text: string, format: ProtocolFormat, opts: ParseOptions = {}): TrialRecord[] {
  const { records, issues } = readProtocol(text, format, opts);
  if (issues.length) throw new ProtocolError(issues);
  if (!records.length) throw new ProtocolError([{ file: opts.file ?? '<protocol>', line: 0, reason: 'no trials' }]);
  return records;
}

/** Guesses the format from the first non-empty line (and the file name). null if unsure. */
export function detectProtocolFormat(text: string, file = ''): ProtocolFormat | null {
  const ls = lines(text);
  const i = firstDataLine(ls);
  if (i < 0) return null;
  const first = ls[i];
  if (first.replace(/^\uFEFF/, '').trim() === 'file,speaker,label') return 'in-the-wild';
  if (first.includes('\t')) return 'native';
  const cols = first.trim().split(/\s+/);
  if (cols.length === 2) return /^\d+$/.test(cols[1]) ? 'multiapi-tracing' : 'multiapi';
  if (cols.length === 4 && cols[1] === '_' && cols[2] === '_') return 'multiapi-composition';
  if (cols.length === 5 && cols[2] === '-') return 'asvspoof2019-la';
  if (cols.length === 8) return 'asvspoof2021-la';
  if (cols.length === 13) return 'asvspoof2021-df';
  if (cols.length === 10 || /ASVspoof5/i.test(file)) return 'asvspoof5';
  return null;
}

/** Counts per label (label → count), e.g. to recount In-the-Wild's bona fide / spoof split at load time. */
export function countLabels(records: TrialRecord[]): Map<Label, number> {
  const m = new Map<Label, number>();
  for (const r of records) m.set(r.label, (m.get(r.label) ?? 0) + 1);
  return m;
}
