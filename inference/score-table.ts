// Score files as rows keyed by id, kept verbatim: what sharded runs resume from and what `spoofscan merge` joins.
// Reads every layout score-writer.ts writes (TSV, CSV, JSON; detection and tracing) and writes it back
// byte-for-byte: a TSV/CSV row is its line as written, a JSON row its object (JSON numbers round-trip exactly).
// Pure TypeScript.
import { splitCsvLine } from '../train/data/protocols.ts';
import type { ScoreFormat } from './score-writer.ts';

export type ScoreKind = 'detect' | 'trace';

export interface TableRow {
  id: string;
  /** TSV/CSV: the line as written (no newline). */
  line?: string;
  /** JSON: the row object. */
  value?: Record<string, unknown>;
  /** Every column present and every numeric column a finite number. */
  complete: boolean;
  /** 1-based line (TSV/CSV) or entry index (JSON), for messages. */
  where: string;
}

export interface ScoreTable {
  format: ScoreFormat;
  kind: ScoreKind;
  /** `# …` lines before the header, without the "# ". */
  comments: string[];
  /** TSV/CSV: the header line as written; '' for JSON. */
  header: string;
  rows: TableRow[];
  /** JSON tracing: the top-level object (its `trials` replaced on output). */
  jsonHead?: Record<string, unknown>;
}

/** A score file that cannot be read as one (message names the file). */
export class ScoreTableError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'ScoreTableError';
  }
}

const isNum = (s: unknown): boolean => (typeof s === 'string' ? s.trim() !== '' && Number.isFinite(Number(s)) : typeof s === 'number' && Number.isFinite(s));

function parseJson(text: string, source: string): ScoreTable {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ScoreTableError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  const toRows = (arr: unknown[], kind: ScoreKind): TableRow[] =>
    arr.map((r, i) => {
      const o = (r && typeof r === 'object' ? r : {}) as Record<string, unknown>;
      const id = typeof o.id === 'string' ? o.id : typeof o.file === 'string' ? o.file : '';
      const complete = id !== '' && (kind === 'detect' ? isNum(o.score) : Array.isArray(o.probs) && o.probs.length > 0 && o.probs.every(isNum) && Number.isInteger(o.predicted));
      return { id, value: o, complete, where: `entry ${i}` };
    });
  if (Array.isArray(doc)) return { format: 'json', kind: 'detect', comments: [], header: '', rows: toRows(doc, 'detect') };
  if (doc && typeof doc === 'object' && Array.isArray((doc as { trials?: unknown }).trials)) {
    const head = doc as Record<string, unknown>;
    return { format: 'json', kind: 'trace', comments: [], header: '', rows: toRows(head.trials as unknown[], 'trace'), jsonHead: head };
  }
  throw new ScoreTableError(`${source}: a JSON score file is an array of rows (spoofscan score) or an object with "trials" (spoofscan trace)`);
}

/** Reads a score file written by spoofscan score / trace (any --format). */
export function parseScoreTable(text: string, source: string): ScoreTable {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return parseJson(text, source);
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const comments: string[] = [];
  let i = 0;
  for (; i < lines.length && lines[i].startsWith('#'); i++) comments.push(lines[i].replace(/^#\s?/, ''));
  if (i >= lines.length) throw new ScoreTableError(`${source}: no header line (id score … or id class p0 …)`);
  const header = lines[i];
  const format: ScoreFormat = header.includes('\t') || !header.includes(',') ? 'tsv' : 'csv';
  const split = (l: string): string[] => (format === 'tsv' ? l.split('\t') : (splitCsvLine(l) ?? []));
  const names = split(header).map((h) => h.trim().toLowerCase());
  const kind: ScoreKind | null = names[0] !== 'id' ? null : names.includes('score') ? 'detect' : names[1] === 'class' ? 'trace' : null;
  if (!kind) throw new ScoreTableError(`${source}:${i + 1}: not a spoofscan score file (header "${header}"; expected id score … or id class p0 …)`);
  const numeric = names.map((n) => n === 'score' || n === 'llr' || n === 'class' || /^p\d+$/.test(n));
  const rows: TableRow[] = [];
  for (let k = i + 1; k < lines.length; k++) {
    const line = lines[k].endsWith('\r') ? lines[k].slice(0, -1) : lines[k];
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = split(line);
    const complete = f.length === names.length && f[0] !== '' && f.every((v, c) => !numeric[c] || isNum(v));
    rows.push({ id: f[0] ?? '', line, complete, where: `line ${k + 1}` });
  }
  return { format, kind, comments, header, rows };
}

/** The file text of a table (rows in the order given). */
export function formatScoreTable(t: Pick<ScoreTable, 'format' | 'comments' | 'header' | 'jsonHead'>, rows: readonly TableRow[]): string {
  if (t.format === 'json') {
    const values = rows.map((r) => r.value ?? {});
    if (!t.jsonHead) return JSON.stringify(values, null, 1) + '\n';
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t.jsonHead)) out[k] = k === 'trials' ? values : v;
    return JSON.stringify(out, null, 1) + '\n';
  }
  return t.comments.map((c) => `# ${c}\n`).join('') + [t.header, ...rows.map((r) => r.line ?? '')].join('\n') + '\n';
}
