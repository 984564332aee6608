// spoofscan merge OUT SHARD_FILES... [--list FILE]
// Joins the per-shard outputs of a job array (score, trace or features --shard) into one file in the same layout,
// after checking that every id is there exactly once. See docs/scale.md.
import { DataError } from '../../train/data/errors.ts';
import { readTextSync } from '../../train/data/text-file.node.ts';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../../models/io/atomic-write.node.ts';
import { mergeScoreTables } from '../../inference/merge.ts';
import { parseScoreTable } from '../../inference/score-table.ts';
import { detectProtocolFormat, parseProtocol, PROTOCOL_FORMATS, type ProtocolFormat } from '../../train/data/protocols.ts';
import { UsageError, UserError } from '../../common/errors.ts';
import { mergeFeatureFiles } from '../features-merge.ts';

export const summary = 'join the per-shard score / trace / features files of a job array into one (checks every id once)';

const HELP = `usage: spoofscan merge OUT SHARD_FILE... [--list FILE [--list-format F]]

Joins the outputs of spoofscan score, trace or features run with --shard i/N (one file per shard, any order)
into OUT, in the shards' layout: a score file (tsv, csv or json; detection or tracing) that spoofscan eval reads
as usual, or one features .safetensors file. Nothing is written unless:
  - every id is present exactly once (a duplicate is reported with both files and lines);
  - with --list: the ids are exactly the list's (paths as written); missing ids are reported with the shard
    that should have held them;
  - without --list: every shard 0…N−1 of the same split is given once and holds all of its share (each shard
    file records "shard=i/N of M"); missing ones are reported by shard file;
  - every file was written with the same settings (model, crop, decision rule, classes, layers).
Rows come out in list order (--list), else in the order of the unsharded list (from the split), so the
merged file equals what one unsharded run writes. OUT is written atomically.

options:
  --list FILE         the protocol list the shards were run on (any format spoofscan reads)
  --list-format F     its format, when it cannot be told from the file
  -h, --help          this help`;

async function listIds(path: string, format?: string): Promise<string[]> {
  let text: string;
  try {
    text = readTextSync(path);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new UserError(`${path}: cannot read the list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const f = (format ?? detectProtocolFormat(text, path)) as ProtocolFormat | null;
  if (!f || !PROTOCOL_FORMATS.includes(f)) throw new UserError(`${path}: cannot tell the list format; give --list-format (${PROTOCOL_FORMATS.join(', ')})`);
  return parseProtocol(text, f, { file: path, asWritten: true, keepDuplicates: true }).map((r) => r.path);
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      list: { type: 'string' },
      'list-format': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [out, ...shards] = positionals;
  if (!out || !shards.length) throw new UsageError(`name the output and at least one shard file\n${HELP}`);
  if (shards.includes(out)) throw new UsageError(`${out} is both the output and a shard file`);
  const list = values.list ? await listIds(values.list, values['list-format']) : undefined;
  const features = shards.map((s) => s.endsWith('.safetensors'));
  if (features.some((x) => x !== features[0])) throw new UserError('the shard files mix features (.safetensors) and score files');
  if (features[0]) {
    if (!out.endsWith('.safetensors')) throw new UsageError(`merging features: OUT must end in .safetensors: ${out}`);
    const r = await mergeFeatureFiles(out, shards, list);
    console.error(`merged ${shards.length} features file${shards.length === 1 ? '' : 's'} into ${out}: ${r.inputs} inputs, ${(r.bytes / 1e6).toFixed(1)} MB`);
    return 0;
  }
  const files = [];
  for (const source of shards) {
    let text: string;
    try {
      text = readTextSync(source);
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new UserError(`${source}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    files.push({ source, table: parseScoreTable(text, source) });
  }
  const r = mergeScoreTables(files, list);
  await writeFileAtomic(out, r.text);
  console.error(`merged ${shards.length} file${shards.length === 1 ? '' : 's'} into ${out}: ${r.rows} ${files[0].table.kind === 'trace' ? 'predictions' : 'scores'}`);
  return 0;
}
