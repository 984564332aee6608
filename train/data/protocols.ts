// Protocol and metadata readers (data.md §3). Every reader turns text into canonical records
// {path, label, group?, speaker?, codec?, subset?}; all problems in a file (malformed lines, unknown
// labels, duplicate paths) are collected and thrown together as one ProtocolError naming file:line.
// Browser-shared: no file-system access here (the missing-file check, checkFilesExist, lives in loader.node.ts).

import { ProtocolError, type ProtocolIssue } from './errors.ts';

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
  issues: ProtocolIssue[];
  records: TrialRecord[];
  seen: Map<string, number>;
}

function add(ctx: Ctx, line: number, rec: Omit<TrialRecord, 'source'>): void {
  const prev = ctx.seen.get(rec.path);
  if (prev !== undefined) {
    ctx.issues.push({ file: ctx.file, line, reason: `duplicate path '${rec.path}' (first on line ${prev})` });
    return;
  }
  ctx.seen.set(rec.path, line);
  ctx.records.push({ ...rec, source: `${ctx.file}:${line}` });
}

function lines(text: string): string[] {
  const ls = text.split(/\r?\n/);
  if (ls.length && ls[ls.length - 1] === '') ls.pop();
  return ls;
}

function columns(ctx: Ctx, n: number, lineNo: number, cols: string[], what: string): boolean {
  if (cols.length === n) return true;
  ctx.issues.push({ file: ctx.file, line: lineNo, reason: `expected ${n} columns (${what}), found ${cols.length}` });
  return false;
}

function readMultiApi(text: string, ctx: Ctx, opts: ParseOptions, kind: 'detection' | 'tracing' | 'composition'): void {
  lines(text).forEach((raw, i) => {
    const ln = i + 1;
    const line = raw.trim();
    if (!line) return;
    const cols = line.split(/\s+/);
    const issue = (reason: string) => ctx.issues.push({ file: ctx.file, line: ln, reason });
    let label: Label | null;
    let word: string;
    if (kind === 'composition') {
      if (!columns(ctx, 4, ln, cols, '<path> _ _ <label>')) return;
      word = cols[3];
      label = word in COMPOSITION_LABELS ? COMPOSITION_LABELS[word] : null;
      if (label === null) return issue(`unknown composition label '${word}' (expected ${Object.keys(COMPOSITION_LABELS).join(', ')})`);
    } else {
      if (!columns(ctx, 2, ln, cols, kind === 'detection' ? '<path> <label>' : '<path> <class>')) return;
      word = cols[1];
      if (kind === 'detection') {
        label = parseBinaryLabel(word);
        if (!label) return issue(`unknown label '${word}' (expected bona-fide/bonafide/genuine/real or spoof/fake/spoofed)`);
      } else {
        if (!/^\d+$/.test(word)) return issue(`class must be a non-negative integer, found '${word}'`);
        label = Number(word);
      }
    }
    const path = joinPath(opts.root, cols[0]);
    add(ctx, ln, { path, label, group: parentDirName(cols[0]) || undefined });
  });
}

function readAsvspoof2019(text: string, ctx: Ctx, opts: ParseOptions): void {
  const ext = opts.extension ?? '.flac';
  lines(text).forEach((raw, i) => {
    const ln = i + 1;
    const line = raw.trim();
    if (!line) return;
    const cols = line.split(/\s+/);
    const issue = (reason: string) => ctx.issues.push({ file: ctx.file, line: ln, reason });
    if (!columns(ctx, 5, ln, cols, 'SPEAKER_ID AUDIO_FILE_NAME - SYSTEM_ID KEY')) return;
    const [speaker, name, dash, system, key] = cols;
    if (dash !== '-') return issue(`column 3 must be '-', found '${dash}'`);
    if (key !== 'bonafide' && key !== 'spoof') return issue(`unknown key '${key}' (expected bonafide or spoof)`);
    if (key === 'bonafide' && system !== '-') return issue(`bona fide trial with system '${system}' (expected '-')`);
    if (key === 'spoof' && !/^A\d\d$/.test(system)) return issue(`spoof trial with system '${system}' (expected A01–A19)`);
    add(ctx, ln, { path: joinPath(opts.root, name + ext), label: key, group: key === 'bonafide' ? 'bonafide' : system, speaker });
  });
}

function readAsvspoof2021(text: string, ctx: Ctx, opts: ParseOptions, track: 'LA' | 'DF'): void {
  const ext = opts.extension ?? '.flac';
  const n = track === 'LA' ? 8 : 13;
  const header =
    track === 'LA'
      ? 'speaker trial codec transmission attack key trim subset'
      : 'speaker trial codec source attack key trim subset vocoder_type + 4';
  lines(text).forEach((raw, i) => {
    const ln = i + 1;
    const line = raw.trim();
    if (!line) return;
    const cols = line.split(/\s+/);
    const issue = (reason: string) => ctx.issues.push({ file: ctx.file, line: ln, reason });
    if (!columns(ctx, n, ln, cols, header)) return;
    const [speaker, trial, codec, , attack, key, , subset] = cols;
    if (key !== 'bonafide' && key !== 'spoof') return issue(`unknown key '${key}' (expected bonafide or spoof)`);
    if (!['eval', 'progress', 'hidden'].includes(subset)) return issue(`unknown subset '${subset}' (expected eval, progress or hidden)`);
    if (opts.subsets && !opts.subsets.includes(subset)) return;
    add(ctx, ln, {
      path: joinPath(opts.root, trial + ext),
      label: key,
      group: key === 'bonafide' ? 'bonafide' : attack,
      speaker,
      codec,
      subset,
    });
  });
}

function readAsvspoof5(text: string, ctx: Ctx, opts: ParseOptions): void {
  const ext = opts.extension ?? '.flac';
  lines(text).forEach((raw, i) => {
    const ln = i + 1;
    const line = raw.trim();
    if (!line) return;
    const cols = line.split(/\s+/);
    const issue = (reason: string) => ctx.issues.push({ file: ctx.file, line: ln, reason });
    if (cols.length === 6)
      return issue('6-column line: this is the early baseline format; ASVspoof 5 protocols have 10 space-separated columns');
    if (!columns(ctx, 10, ln, cols, 'SPEAKER_ID FLAC_FILE_NAME GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP')) return;
    const [speaker, name, gender, codec, , , , attack, key] = cols;
    if (gender !== 'F' && gender !== 'M' && gender !== '-') return issue(`unknown gender '${gender}' (expected F or M)`);
    if (key !== 'bonafide' && key !== 'spoof') return issue(`unknown key '${key}' (expected bonafide or spoof)`);
    if (key === 'bonafide' && attack !== 'bonafide') return issue(`bona fide trial with attack label '${attack}'`);
    add(ctx, ln, {
      path: joinPath(opts.root, name + ext),
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
    ctx.issues.push({ file: ctx.file, line: 1, reason: `expected header 'file,speaker,label', found '${ls[0] ?? ''}'` });
    return;
  }
  ls.slice(1).forEach((raw, i) => {
    const ln = i + 2;
    const line = raw.trim();
    if (!line) return;
    const issue = (reason: string) => ctx.issues.push({ file: ctx.file, line: ln, reason });
    const cols = splitCsvLine(line);
    if (!cols) return issue('unterminated quoted field');
    if (cols.length !== 3) return issue(`expected 3 comma-separated fields (file,speaker,label), found ${cols.length}`);
    const [file, speaker, word] = cols;
    if (!file) return issue('empty file name');
    const label = word === 'bona-fide' ? 'bonafide' : word === 'spoof' ? 'spoof' : null;
    if (!label) return issue(`unknown label '${word}' (expected bona-fide or spoof)`);
    add(ctx, ln, { path: joinPath(opts.root, file), label, speaker, group: label === 'bonafide' ? 'bonafide' : 'spoof' });
  });
}

function readNative(text: string, ctx: Ctx, opts: ParseOptions): void {
  // Paths relative to the list file's directory (or `root` when given).
  const base = opts.root ?? (opts.file ? dirName(opts.file) : undefined);
  lines(text).forEach((raw, i) => {
    const ln = i + 1;
    if (!raw.trim() || raw.trimStart().startsWith('#')) return;
    const issue = (reason: string) => ctx.issues.push({ file: ctx.file, line: ln, reason });
    const cols = raw.replace(/\r$/, '').split('\t');
    if (cols.length < 2 || cols.length > 3) return issue(`expected <path><TAB><label>[<TAB><group>], found ${cols.length} tab-separated field(s)`);
    const [p, word, group] = cols.map((c) => c.trim());
    if (!p) return issue('empty path');
    let label: Label | null = parseBinaryLabel(word);
    if (!label && /^\d+$/.test(word)) label = Number(word);
    if (label === null) return issue(`unknown label '${word}' (expected bonafide/spoof or a class index)`);
    add(ctx, ln, { path: joinPath(base === '.' ? undefined : base, p), label, group: group || parentDirName(p) || undefined });
  });
}

/** Parses one protocol file's text. Throws ProtocolError listing every problem found. */
export function parseProtocol(text: string, format: ProtocolFormat, opts: ParseOptions = {}): TrialRecord[] {
  const ctx: Ctx = { file: opts.file ?? '<protocol>', issues: [], records: [], seen: new Map() };
  switch (format) {
    case 'multiapi':
      readMultiApi(text, ctx, opts, 'detection');
      break;
    case 'multiapi-tracing':
      readMultiApi(text, ctx, opts, 'tracing');
      break;
    case 'multiapi-composition':
      readMultiApi(text, ctx, opts, 'composition');
      break;
    case 'asvspoof2019-la':
      readAsvspoof2019(text, ctx, opts);
      break;
    case 'asvspoof2021-la':
      readAsvspoof2021(text, ctx, opts, 'LA');
      break;
    case 'asvspoof2021-df':
      readAsvspoof2021(text, ctx, opts, 'DF');
      break;
    case 'asvspoof5':
      readAsvspoof5(text, ctx, opts);
      break;
    case 'in-the-wild':
      readInTheWild(text, ctx, opts);
      break;
    case 'native':
      readNative(text, ctx, opts);
      break;
    default:
      throw new ProtocolError([{ file: ctx.file, line: 0, reason: `unknown protocol format '${format as string}'` }]);
  }
  if (ctx.issues.length) throw new ProtocolError(ctx.issues);
  if (!ctx.records.length) throw new ProtocolError([{ file: ctx.file, line: 0, reason: 'no trials' }]);
  return ctx.records;
}

/** Guesses the format from the first non-empty line (and the file name). null if unsure. */
export function detectProtocolFormat(text: string, file = ''): ProtocolFormat | null {
  const first = lines(text).find((l) => l.trim() && !l.trimStart().startsWith('#'));
  if (!first) return null;
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
