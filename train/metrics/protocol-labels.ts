// A minimal protocol reader for `spoofscan eval`: label + attack/group (+ subset) per trial, for the
// formats of ../shared/docs/data.md §3. It reads labels only (no audio paths are resolved, no files are
// checked). Pure TypeScript, no Node imports: feed it lines (see `splitLines`).
//
// Formats, recognised from the first data line:
//   asvspoof2019-la  SPEAKER_ID AUDIO_FILE_NAME - SYSTEM_ID KEY                       (5 columns)
//   asvspoof2021-la  speaker trial codec transmission attack key trim subset          (8 columns)
//   asvspoof2021-df  speaker trial codec source attack key trim subset vocoder + 4    (13 columns)
//   asvspoof5        SPEAKER FLAC_FILE GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP (10)
//   in-the-wild      meta.csv: header file,speaker,label (comma CSV, quotes allowed)
//   list             <id or path> <label>; group = parent directory of the path (MultiAPI-Spoof lists,
//                    ASVspoof 5 keys `filename<TAB>cm-label`, plain `id label` lists)
//   list-with-group  <id or path> <label> <group> (spoofscan native lists, tab separated)
//   (both list formats accept 2 or 3 columns on any line: the group column is optional per line)
// Labels: bona-fide, bonafide, genuine, real → bonafide; spoof, fake, spoofed → spoof (any case);
// a non-negative integer is a tracing class index.

import { MetricsInputError, quoteFirst, quoteLine } from './errors.ts';
import { interner, isBlankOrComment, parentDirName, parseIndex, splitFields } from './text.ts';

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

const BONAFIDE = new Set(['bona-fide', 'bonafide', 'genuine', 'real']);
const SPOOF = new Set(['spoof', 'fake', 'spoofed']);

/** Maps a detection label string to bonafide/spoof (case-insensitive); null if unknown. */
export function parseDetectionLabel(token: string): DetectionLabel | null {
  const t = token.toLowerCase();
  if (BONAFIDE.has(t)) return 'bonafide';
  if (SPOOF.has(t)) return 'spoof';
  return null;
}

/** A detection label or a tracing class index; null if neither. */
export function parseAnyLabel(token: string): DetectionLabel | number | null {
  const d = parseDetectionLabel(token);
  if (d) return d;
  const k = parseIndex(token);
  return k >= 0 ? k : null;
}

const HEADER_FIRST = new Set(['filename', 'file', 'path', 'id', 'trial', 'utt', 'utterance', 'key', 'speaker', 'speaker_id', 'audio']);

/** Splits one CSV record (RFC 4180 quotes, no embedded newlines). */
export function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else q = false;
      } else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((f) => f.trim());
}

interface Layout {
  format: ProtocolFormat;
  columns: number;
  /** other column counts accepted on later lines (lists: the group column is optional per line) */
  alsoColumns?: number[];
  id: number;
  key: number;
  group?: number;
  subset?: number;
  codec?: number;
  speaker?: number;
}

const LAYOUTS: Layout[] = [
  { format: 'asvspoof2019-la', columns: 5, id: 1, key: 4, group: 3, speaker: 0 },
  { format: 'asvspoof2021-la', columns: 8, id: 1, key: 5, group: 4, subset: 7, codec: 2, speaker: 0 },
  { format: 'asvspoof2021-df', columns: 13, id: 1, key: 5, group: 4, subset: 7, codec: 2, speaker: 0 },
  { format: 'asvspoof5', columns: 10, id: 1, key: 8, group: 7, codec: 3, speaker: 0 },
  // lists: `<path> <label> [<group>]`, the group optional per line (data.md §3.6); none → parent directory
  { format: 'list', columns: 2, alsoColumns: [3], id: 0, key: 1, group: 2 },
  { format: 'list-with-group', columns: 3, alsoColumns: [2], id: 0, key: 1, group: 2 },
];

function detectLayout(f: string[]): Layout | null {
  for (const l of LAYOUTS) {
    if (f.length === l.columns && parseAnyLabel(f[l.key]) !== null) return l;
  }
  return null;
}

/** A line that looks like a column header (`filename cm-label`, `file,speaker,label`, …). */
function isHeader(f: string[]): boolean {
  return f.length >= 2 && HEADER_FIRST.has(f[0].toLowerCase()) && f.slice(1).every((x) => parseAnyLabel(x) === null);
}

/**
 * Reads a protocol / key / list file. Errors (unknown labels, wrong column counts, duplicate ids) are
 * collected and thrown together with counts and the first few offending lines.
 */
export function parseProtocol(lines: Iterable<string>, source: string): Protocol {
  let layout: Layout | null = null;
  let csv: { file: number; label: number; speaker: number; columns: number } | null = null;
  const trials: ProtocolTrial[] = [];
  const intern = interner();
  const badLabel: string[] = [];
  const badColumns: string[] = [];
  let nBadLabel = 0;
  let nBadColumns = 0;
  let lineNo = 0;
  let sawData = false;
  let skippedHeader = false;
  for (const raw of lines) {
    lineNo++;
    if (isBlankOrComment(raw)) continue;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!sawData) {
      sawData = true;
      // In-the-Wild meta.csv (or any CSV with file and label columns)
      if (line.includes(',') && !line.includes('\t')) {
        const h = splitCsv(line).map((x) => x.toLowerCase());
        const file = h.indexOf('file');
        const label = h.indexOf('label');
        if (file >= 0 && label >= 0) {
          csv = { file, label, speaker: h.indexOf('speaker'), columns: h.length };
          continue;
        }
      }
      const f = splitFields(line);
      if (isHeader(f) && !skippedHeader) {
        // e.g. ASVspoof 5 keys: filename<TAB>cm-label; the format is detected on the next line
        skippedHeader = true;
        sawData = false;
        continue;
      }
      layout = detectLayout(f);
      if (!layout) {
        throw new MetricsInputError(
          `${source}:${lineNo}: unrecognised protocol format ${quoteLine(line)} (${f.length} columns). Expected an ` +
            'ASVspoof 2019/2021/5 protocol, In-the-Wild meta.csv, or a `<id> <label> [<group>]` list with labels ' +
            'bonafide/bona-fide/genuine/real/spoof/fake/spoofed or class indices',
        );
      }
    }
    if (csv) {
      const f = splitCsv(line);
      if (f.length !== csv.columns) {
        nBadColumns++;
        if (badColumns.length < 5) badColumns.push(`${source}:${lineNo} ${quoteLine(line)} (${f.length} fields, header has ${csv.columns})`);
        continue;
      }
      const lab = parseAnyLabel(f[csv.label]);
      if (lab === null) {
        nBadLabel++;
        if (badLabel.length < 5) badLabel.push(`${source}:${lineNo} ${quoteLine(f[csv.label])}`);
        continue;
      }
      const t: ProtocolTrial = { id: f[csv.file], label: lab, line: lineNo };
      if (csv.speaker >= 0) t.speaker = f[csv.speaker];
      trials.push(t);
      continue;
    }
    const l = layout!;
    const f = splitFields(line);
    if (f.length !== l.columns && !l.alsoColumns?.includes(f.length)) {
      nBadColumns++;
      if (badColumns.length < 5) badColumns.push(`${source}:${lineNo} ${quoteLine(line)} (${f.length} columns)`);
      continue;
    }
    const lab = parseAnyLabel(f[l.key]);
    if (lab === null) {
      nBadLabel++;
      if (badLabel.length < 5) badLabel.push(`${source}:${lineNo} ${quoteLine(f[l.key])}`);
      continue;
    }
    const t: ProtocolTrial = { id: f[l.id], label: lab, line: lineNo };
    if (l.group !== undefined && l.group < f.length) {
      const g = f[l.group];
      if (g !== '-' && g !== '' && g.toLowerCase() !== 'bonafide') t.group = intern(g);
    } else {
      const g = parentDirName(f[l.id]);
      if (g !== undefined) t.group = intern(g);
    }
    if (l.subset !== undefined) t.subset = intern(f[l.subset]);
    if (l.codec !== undefined) t.codec = intern(f[l.codec]);
    if (l.speaker !== undefined) t.speaker = intern(f[l.speaker]);
    trials.push(t);
  }
  const problems: string[] = [];
  if (nBadColumns > 0) {
    const fmt = csv ? 'in-the-wild' : layout!.format;
    problems.push(`${nBadColumns} line(s) do not have the column count of the ${fmt} format; first: ${quoteFirst(badColumns, nBadColumns)}`);
  }
  if (nBadLabel > 0) {
    problems.push(
      `${nBadLabel} line(s) have an unknown label (expected bonafide/bona-fide/genuine/real, spoof/fake/spoofed, or a class index); ` +
        `first: ${quoteFirst(badLabel, nBadLabel)}`,
    );
  }
  const dup = findDuplicates(trials.map((t) => t.id), (i) => `${source}:${trials[i].line}`);
  if (dup) problems.push(dup);
  if (problems.length > 0) throw new MetricsInputError(`${source}: ${problems.join('; ')}`);
  if (!sawData || (trials.length === 0 && (csv || layout))) throw new MetricsInputError(`${source}: no trials`);
  return {
    source,
    format: csv ? 'in-the-wild' : layout!.format,
    trials,
    hasSubsets: !csv && layout!.subset !== undefined,
  };
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
