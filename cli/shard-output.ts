// The score file of one shard (or of a --resume run) of `spoofscan score` / `trace`, kept resumable:
//   - OUT.partial is rewritten atomically every `saveEvery` newly computed rows, so a preempted or killed task
//     loses at most that many; OUT is written atomically at the end and OUT.partial removed;
//   - on a re-run with the same OUT, complete rows of ids in this run's list found in OUT or OUT.partial are
//     kept as written and only the rest are computed. A file written with other settings (model, crop,
//     threshold, classes: its `#` lines) or for another shard is refused rather than mixed in.
import { stat, unlink } from 'node:fs/promises';
import { DataError } from '../train/data/errors.ts';
import { readTextSync } from '../train/data/text-file.node.ts';
import { writeFileAtomic } from '../models/io/atomic-write.node.ts';
import { formatScoreTable, parseScoreTable, type ScoreTable, type TableRow } from '../inference/score-table.ts';
import type { ScoreFormat } from '../inference/score-writer.ts';
import { formatShardTag, parseShard, parseShardTag, takeShard, type Env, type Shard, type ShardTag } from '../inference/shard.ts';
import { UsageError, UserError } from '../common/errors.ts';

export const DEFAULT_SAVE_EVERY = 20;

export function partialPath(out: string): string {
  return `${out}.partial`;
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    await stat(path);
    return readTextSync(path); // bounded lines and size (train/data/text-file.node.ts)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (e instanceof DataError) throw e;
    throw new UserError(`${path}: cannot read it to resume (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Parses a saved score file's text and splits the shard tag off its comments. */
function splitTag(t: ScoreTable): { tag: ShardTag | null; comments: string[] } {
  const tags = t.comments.map(parseShardTag);
  const at = tags.findIndex((x) => x !== null);
  return { tag: at >= 0 ? tags[at] : null, comments: t.comments.filter((_, i) => i !== at) };
}

const sameTag = (a: ShardTag | null, b: ShardTag | null): boolean => (a === null ? b === null : b !== null && a.index === b.index && a.count === b.count && a.total === b.total);
const describeTag = (t: ShardTag | null): string => (t ? `shard ${t.index}/${t.count} of ${t.total} items` : 'an unsharded run');

export interface ResumableOptions {
  out: string;
  format: ScoreFormat;
  /** Ids of this run's items, in order (the shard's share of the list). */
  ids: readonly string[];
  tag: ShardTag | null;
  saveEvery: number;
}

export class ResumableScoreFile {
  /** Complete rows already on disk, by id (only ids of this run). */
  private readonly kept = new Map<string, TableRow>();
  private readonly fresh = new Map<string, TableRow>();
  private layout: Pick<ScoreTable, 'format' | 'comments' | 'header' | 'jsonHead'> | null = null;
  private previous: ScoreTable | null = null;
  private sinceSave = 0;
  private headerFixed = false;

  private constructor(private readonly o: ResumableOptions) {}

  /** Reads OUT and OUT.partial (where present) for complete rows of this run's ids. */
  static async open(o: ResumableOptions): Promise<ResumableScoreFile> {
    const f = new ResumableScoreFile(o);
    const wanted = new Set(o.ids);
    if (wanted.size !== o.ids.length) {
      const seen = new Set<string>();
      const dup = o.ids.find((id) => (seen.has(id) ? true : (seen.add(id), false)));
      throw new UserError(`the input list names ${dup} more than once; a resumable run keys results by id`);
    }
    for (const path of [o.out, partialPath(o.out)]) {
      const text = await readIfExists(path);
      if (text === null) continue;
      let t: ScoreTable;
      try {
        t = parseScoreTable(text, path);
      } catch (e) {
        throw new UserError(`${(e as Error).message}; cannot resume from it (move it away, or choose another --out)`);
      }
      if (t.format !== o.format) throw new UserError(`${path}: written as ${t.format}, this run writes ${o.format}; cannot resume from it (use the same --format, or another --out)`);
      const { tag } = splitTag(t);
      if (!sameTag(tag, o.tag)) throw new UserError(`${path} holds ${describeTag(tag)}, this run is ${describeTag(o.tag)}; give each shard its own --out (e.g. scores.%a.tsv)`);
      if (f.previous && f.previous.comments.join('\n') !== t.comments.join('\n')) {
        throw new UserError(`${o.out} and ${path} were written with different settings; remove ${path}`);
      }
      f.previous = t;
      for (const r of t.rows) if (r.complete && wanted.has(r.id) && !f.kept.has(r.id)) f.kept.set(r.id, r);
    }
    return f;
  }

  /** Rows found complete on disk. */
  get resumed(): number {
    return this.kept.size;
  }

  has(id: string): boolean {
    return this.kept.has(id) || this.fresh.has(id);
  }

  /** Ids still to compute, in order. */
  get todo(): string[] {
    return this.o.ids.filter((id) => !this.has(id));
  }

  /**
   * The layout of this run's output: `text` is the writer's output for zero rows (its `#` lines, and the
   * header for tracing). Refuses rows kept from a file written with other settings.
   */
  setLayout(text: string): void {
    const t = parseScoreTable(text, this.o.out);
    const comments = [...(this.o.tag ? [formatShardTag(this.o.tag)] : []), ...t.comments];
    if (this.previous && this.kept.size) {
      const was = splitTag(this.previous).comments;
      if (was.join('\n') !== t.comments.join('\n') || (t.format === 'json' && JSON.stringify({ ...t.jsonHead, trials: 0 }) !== JSON.stringify({ ...this.previous.jsonHead, trials: 0 }))) {
        const diff = was.filter((c) => !t.comments.includes(c)).concat(t.format === 'json' ? ['(JSON fields)'] : []);
        throw new UserError(
          `${this.o.out}: the existing results were written with other settings (${diff.join('; ') || 'comment lines differ'}); ` +
            `cannot resume with different settings: remove ${this.o.out} and ${partialPath(this.o.out)}, or choose another --out`,
        );
      }
    }
    this.headerFixed = Boolean(this.previous && this.kept.size);
    this.layout = { format: t.format, comments, header: this.headerFixed ? this.previous!.header : t.header, jsonHead: t.jsonHead };
  }

  /** Adds one newly computed row: `text` is the writer's output for this row alone. */
  async add(id: string, text: string): Promise<void> {
    const t = parseScoreTable(text, this.o.out);
    if (t.rows.length !== 1) throw new Error(`internal: expected one row for ${id}, got ${t.rows.length}`);
    if (!this.layout) this.setLayout(text);
    if (t.format !== 'json' && this.layout!.header !== t.header) {
      if (this.headerFixed) {
        throw new UserError(`${this.o.out}: its columns (${this.layout!.header.split(/[\t,]/).join(' ')}) differ from this run's (${t.header.split(/[\t,]/).join(' ')}); remove it or choose another --out`);
      }
      this.layout = { ...this.layout!, header: t.header };
    }
    this.fresh.set(id, t.rows[0]);
    if (++this.sinceSave >= this.o.saveEvery) await this.savePartial();
  }

  private text(): string {
    const layout = this.layout ?? this.previous;
    if (!layout) throw new Error('internal: no layout for the output');
    const rows = this.o.ids.flatMap((id) => {
      const r = this.fresh.get(id) ?? this.kept.get(id);
      return r ? [r] : [];
    });
    return formatScoreTable(layout, rows);
  }

  /** Saves OUT.partial now when there are unsaved results (e.g. before giving up on an error). */
  async flush(): Promise<void> {
    if (this.sinceSave > 0 && this.layout) await this.savePartial();
  }

  private async savePartial(): Promise<void> {
    this.sinceSave = 0;
    await writeFileAtomic(partialPath(this.o.out), this.text());
  }

  /** Writes OUT (rows in this run's order) and removes OUT.partial. Returns rows written. */
  async finish(): Promise<number> {
    await writeFileAtomic(this.o.out, this.text());
    await unlink(partialPath(this.o.out)).catch(() => undefined);
    return this.kept.size + this.fresh.size;
  }
}

/** The --shard / --shards / --resume / --save-every options shared by score, trace and features. */
export const SHARD_OPTIONS = {
  shard: { type: 'string' },
  shards: { type: 'string' },
  resume: { type: 'boolean', default: false },
  'save-every': { type: 'string' },
  adapter: { type: 'string' },
} as const;

const ADAPTERS = ['auto', 'default', 'swiftshader', 'gles'];

export const SHARD_HELP = `sharding (docs/scale.md):
  --shard i/N|auto    process only shard i (0-based) of N: items k of the input list with k mod N = i (list
                      order; deterministic). auto: from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (or
                      _MIN/_MAX) of an sbatch --array task, or JOB_COMPLETION_INDEX of a Kubernetes Indexed Job
                      with the count from --shards N or SPOOFSCAN_SHARDS. "{shard}" in --out becomes i.
                      A sharded --out is resumable: a re-run skips ids already complete in OUT or OUT.partial
  --shards N          the number of shards for --shard auto where the scheduler does not give it
  --resume            resume an unsharded --out the same way
  --save-every K      save OUT.partial (atomically) every K new results (default ${DEFAULT_SAVE_EVERY})
  --adapter A         WebGPU adapter kind: auto|default|swiftshader|gles (default: SPOOFSCAN_ADAPTER or auto);
                      which GPU a process gets is chosen outside spoofscan (docs/scale.md, one GPU per task)`;

export interface ShardPlan<T> {
  shard: Shard | null;
  /** This run's items with their index in the whole list. */
  items: { item: T; index: number }[];
  tag: ShardTag | null;
  /** --out with {shard} filled in. */
  out: string | undefined;
  /** Resume from and save partial results to --out. */
  resumable: boolean;
  saveEvery: number;
}

export function planShard<T>(
  values: { shard?: string; shards?: string; resume?: boolean; 'save-every'?: string; out?: string; adapter?: string },
  all: readonly T[],
  env: Env = process.env,
): ShardPlan<T> {
  if (values.adapter !== undefined) {
    if (!ADAPTERS.includes(values.adapter.toLowerCase())) throw new UsageError(`--adapter must be one of ${ADAPTERS.join(', ')}, not "${values.adapter}"`);
    process.env.SPOOFSCAN_ADAPTER = values.adapter;
  }
  if (values.shards !== undefined && values.shard === undefined) throw new UserError('--shards applies to --shard auto');
  const shard = values.shard === undefined ? null : parseShard(values.shard, env, values.shards);
  const saveEvery = values['save-every'] === undefined ? DEFAULT_SAVE_EVERY : Number(values['save-every']);
  if (!Number.isInteger(saveEvery) || saveEvery < 1) throw new UserError(`--save-every must be a positive integer, not "${values['save-every']}"`);
  if (values.resume && !values.out) throw new UserError('--resume needs --out FILE');
  if (values.out?.includes('{shard}') && !shard) throw new UserError('--out: "{shard}" needs --shard');
  const out = shard && values.out ? values.out.replaceAll('{shard}', String(shard.index)) : values.out;
  const items = shard ? takeShard(all, shard) : all.map((item, index) => ({ item, index }));
  if (shard) console.error(`shard ${shard.index}/${shard.count} (${shard.source}): ${items.length} of ${all.length} inputs (items k with k mod ${shard.count} = ${shard.index})`);
  return { shard, items, tag: shard ? { index: shard.index, count: shard.count, total: all.length } : null, out, resumable: Boolean(out && (shard || values.resume)), saveEvery };
}
