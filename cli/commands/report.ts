// spoofscan report DIR: rebuilds DIR/report.html from a training directory (config.json, log.jsonl and the
// best epoch's dev scores). The report itself is made by train/report/ (pure TypeScript); this file reads
// the files and writes the page atomically.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bestEpoch, parseTrainingLog, renderReport, runReportInput, type ReportInput } from '../../train/report/index.ts';
import { writeFileAtomicSync } from '../../models/io/atomic-write.node.ts';
import { UserError } from '../../common/errors.ts';

export const summary = 'rebuild DIR/report.html (DET curve, histograms, confusion matrix, training curves) from a training directory';

const HELP = `usage: spoofscan report DIR [--out FILE]

Rebuilds the self-contained HTML report of a training run (inline SVG, no scripts, nothing fetched from the
network) from DIR/config.json, DIR/log.jsonl and the best epoch's dev scores DIR/scores/dev-epoch-N.txt (the
best epoch is the last one logged with "best": true). Detection runs get the metric table, the DET curve
with its EER point, per-attack EER bars and score histograms; tracing runs the confusion matrix with the
unseen row and column and per-class precision/recall/F1; both get the training loss and dev-metric curves.

  --out FILE   where to write (default DIR/report.html); written to a temporary file first, then renamed
  -h, --help   this help`;

/**
 * Renders `input` and writes it to `path` atomically: a temporary file in the same folder, then a rename
 * (a reader never sees half a page; an old report survives a failed write).
 */
export function writeReport(path: string, input: ReportInput): void {
  const full = resolve(path);
  if (!existsSync(dirname(full))) throw new UserError(`cannot write ${path}: folder ${dirname(full)} does not exist`);
  writeFileAtomicSync(full, renderReport(input));
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The ReportInput of a training directory (reads its files; errors name the file). */
export function runDirReportInput(dir: string): ReportInput {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new UserError(`${dir} is not a training directory: ${configPath} is missing`);
  let config: unknown;
  try {
    config = JSON.parse(readText(configPath));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${configPath}: not valid JSON (${(e as Error).message})`);
  }
  if (config === null || typeof config !== 'object') throw new UserError(`${configPath}: not a JSON object`);
  const logPath = join(dir, 'log.jsonl');
  const logText = existsSync(logPath) ? readText(logPath) : '';
  const best = bestEpoch(parseTrainingLog(logText, logPath));
  const scoresPath = best ? join(dir, 'scores', `dev-epoch-${best.epoch}.txt`) : null;
  const scoresText = scoresPath && existsSync(scoresPath) ? readText(scoresPath) : null;
  return runReportInput({
    name: basename(resolve(dir)),
    config: config as { task?: unknown },
    logText,
    scoresText,
    scoresSource: scoresPath ?? undefined,
  });
}

export async function run(argv: string[]): Promise<number> {
  let parsed: { values: { out?: string; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UserError(`${(e as Error).message} (see spoofscan report --help)`);
  }
  if (parsed.values.help) {
    console.log(HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) throw new UserError('expected one training directory (see spoofscan report --help)');
  const dir = parsed.positionals[0];
  const out = parsed.values.out ?? join(dir, 'report.html');
  const input = runDirReportInput(dir);
  writeReport(out, input);
  const what = [input.detection?.length ? 'detection' : '', input.tracing?.length ? 'tracing' : '', 'training curves'].filter(Boolean).join(', ');
  console.log(`wrote ${out} (${what})`);
  return 0;
}
