// Score files as `spoofscan score` and `spoofscan trace` write them, in the layouts `eval` and `calibrate` read
// back by column name (train/metrics/score-file.ts): TSV (default) or CSV with a header line, or JSON.
//   detection: # score_type=bona_logit …     id  score  [llr]  decision  [label]
//   tracing:   # classes=a,b,… tau=0.63       id  class  p0 … p(K−1)   (class = prediction, K = unseen)
export type ScoreFormat = 'tsv' | 'csv' | 'json';
export const SCORE_FORMATS: readonly ScoreFormat[] = ['tsv', 'csv', 'json'];

export interface DetectionRow {
  id: string;
  score: number;
  logits: number[];
  llr?: number;
  decision?: 'bonafide' | 'spoof';
  label?: string;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function table(header: string[], rows: string[][], format: 'tsv' | 'csv'): string {
  const sep = format === 'csv' ? ',' : '\t';
  const f = format === 'csv' ? csvField : (s: string) => s;
  return [header, ...rows].map((r) => r.map(f).join(sep)).join('\n') + '\n';
}

/** `comments`: lines written as `# …` before the header (TSV/CSV); JSON carries them as no field. */
export function formatDetectionScores(rows: readonly DetectionRow[], format: ScoreFormat, comments: readonly string[] = []): string {
  if (format === 'json') return JSON.stringify(rows, null, 1) + '\n';
  const hasLlr = rows.some((r) => r.llr !== undefined);
  const hasDecision = rows.some((r) => r.decision !== undefined);
  const hasLabel = rows.some((r) => r.label !== undefined);
  const header = ['id', 'score', ...(hasLlr ? ['llr'] : []), ...(hasDecision ? ['decision'] : []), ...(hasLabel ? ['label'] : [])];
  const body = rows.map((r) => [r.id, String(r.score), ...(hasLlr ? [String(r.llr)] : []), ...(hasDecision ? [r.decision ?? ''] : []), ...(hasLabel ? [r.label ?? ''] : [])]);
  return comments.map((c) => `# ${c}\n`).join('') + table(header, body, format);
}

export interface TracingRow {
  id: string;
  /** Predicted class index, K = unseen. */
  predicted: number;
  label: string;
  probs: number[];
}

export function formatTracingScores(rows: readonly TracingRow[], classNames: readonly string[], threshold: number, format: ScoreFormat): string {
  if (format === 'json') return JSON.stringify({ classes: classNames, threshold, trials: rows }, null, 1) + '\n';
  const header = ['id', 'class', ...classNames.map((_, k) => `p${k}`)];
  const body = rows.map((r) => [r.id, String(r.predicted), ...r.probs.map(String)]);
  return `# classes=${classNames.join(',')} tau=${threshold} (class ${classNames.length} = unseen)\n` + table(header, body, format);
}
