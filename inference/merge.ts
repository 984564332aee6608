// Joining the per-shard outputs of a job array (`spoofscan merge`): every id present exactly once, missing and
// duplicate ids reported by shard file, rows put back in list order. Pure TypeScript; cli/commands/merge.ts
// reads and writes the files.
import { formatScoreTable, type ScoreTable, type TableRow } from './score-table.ts';
import { parseShardTag, shardIndices, type ShardTag } from './shard.ts';

/** Some shard files do not add up to one complete output; `problems` lists each (nothing was written). */
export class MergeError extends Error {
  readonly userFacing = true;
  constructor(readonly problems: string[]) {
    const show = problems.slice(0, 20);
    if (problems.length > 20) show.push(`… and ${problems.length - 20} more`);
    super(`cannot merge (${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing written):\n  ${show.join('\n  ')}`);
    this.name = 'MergeError';
  }
}

/** One shard's ids (in its order) and where each is, for the checks. */
export interface ShardIds {
  source: string;
  tag: ShardTag | null;
  ids: readonly string[];
  /** Where the k-th id is in the file, for messages ("line 7"). */
  where(k: number): string;
}

const few = (xs: readonly string[], n = 5): string => xs.slice(0, n).join(', ') + (xs.length > n ? `, … (${xs.length} in all)` : '');

/**
 * Checks that the shards' ids add up: no id twice (within or across files); with `list`, exactly the list's
 * ids; without one, what the shard tags say (every shard 0…N−1 of the same split given once, each holding
 * all of its share). Returns the merged order as [file, row] pairs: the list's order, else the split's
 * (row j of shard i is item j·N + i), else the files' order. Throws MergeError with every problem found.
 */
export function mergeOrder(shards: readonly ShardIds[], list?: readonly string[]): [number, number][] {
  const problems: string[] = [];
  const at = new Map<string, [number, number]>();
  shards.forEach((s, f) =>
    s.ids.forEach((id, k) => {
      const prev = at.get(id);
      if (prev) {
        const [pf, pk] = prev;
        problems.push(pf === f ? `duplicate id ${id}: twice in ${s.source} (${s.where(pk)} and ${s.where(k)})` : `duplicate id ${id}: in ${shards[pf].source} (${shards[pf].where(pk)}) and in ${s.source} (${s.where(k)})`);
      } else at.set(id, [f, k]);
    }),
  );
  const tags = shards.map((s) => s.tag);
  const tagged = tags.every((t) => t !== null) ? (tags as ShardTag[]) : null;
  if (tags.some((t) => t !== null) && !tagged) problems.push(`some files are shards and some are not: ${shards.filter((s) => !s.tag).map((s) => s.source).join(', ')} carry no shard line`);
  if (tagged) {
    const { count, total } = tagged[0];
    const other = tagged.findIndex((t) => t.count !== count || t.total !== total);
    if (other >= 0) problems.push(`${shards[0].source} is a shard of ${count} over ${total} items but ${shards[other].source} of ${tagged[other].count} over ${tagged[other].total}: not the same split`);
    else {
      const byIndex = new Map<number, number>();
      tagged.forEach((t, f) => {
        const prev = byIndex.get(t.index);
        if (prev !== undefined) problems.push(`shard ${t.index}/${count} given twice: ${shards[prev].source} and ${shards[f].source}`);
        else byIndex.set(t.index, f);
      });
      const absent = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
      if (absent.length) problems.push(`shard${absent.length > 1 ? 's' : ''} ${few(absent.map(String), 10)} of ${count} not given (no file for ${absent.length === 1 ? 'it' : 'them'}; ${absent.map((i) => shardIndices(total, { index: i, count }).length).reduce((a, b) => a + b, 0)} ids)`);
      if (!list) {
        tagged.forEach((t, f) => {
          const want = shardIndices(total, t).length;
          const have = shards[f].ids.length;
          if (have < want) problems.push(`${shards[f].source} (shard ${t.index}/${count}): ${want - have} of its ${want} ids missing (it holds ${have}; re-run that shard to finish it)`);
          else if (have > want) problems.push(`${shards[f].source} (shard ${t.index}/${count}): holds ${have} ids, its share is ${want}`);
        });
      }
    }
  }
  if (list && tagged && tagged[0].total !== list.length) problems.push(`the shards split a list of ${tagged[0].total} items, the list given has ${list.length}: not the list they were run on`);
  if (list) {
    const listed = new Set<string>();
    const missing: string[] = [];
    const listDup: string[] = [];
    for (const id of list) {
      if (listed.has(id)) listDup.push(id);
      listed.add(id);
      if (!at.has(id)) missing.push(id);
    }
    if (listDup.length) problems.push(`the list names ${listDup.length} id(s) more than once: ${few(listDup)}`);
    // Which shard should have held each missing id (by the split when the files carry it).
    const owner = (id: string): string => {
      if (!tagged) return '';
      const k = list.indexOf(id);
      const f = tagged.findIndex((t) => t.index === k % t.count);
      return f >= 0 ? ` (shard ${k % tagged[f].count}: ${shards[f].source})` : ` (shard ${k % tagged[0].count}: no file given)`;
    };
    if (missing.length) {
      const byShard = new Map<string, string[]>();
      for (const id of missing) {
        const o = owner(id);
        byShard.set(o, [...(byShard.get(o) ?? []), id]);
      }
      for (const [o, ids] of byShard) problems.push(`${ids.length} id(s) of the list missing${o}: ${few(ids)}`);
    }
    const extra = shards.flatMap((s) => s.ids.filter((id) => !listed.has(id)).map((id) => `${id} (${s.source})`));
    if (extra.length) problems.push(`${extra.length} id(s) not in the list: ${few(extra)}`);
  }
  if (problems.length) throw new MergeError(problems);
  if (list) return list.map((id) => at.get(id)!);
  if (tagged) {
    const fileOf = new Map(tagged.map((t, f) => [t.index, f]));
    const { count, total } = tagged[0];
    return Array.from({ length: total }, (_, k): [number, number] => [fileOf.get(k % count)!, Math.floor(k / count)]);
  }
  return shards.flatMap((s, f) => s.ids.map((_, k): [number, number] => [f, k]));
}

/** Merges score tables (same layout and settings) into one file's text, in mergeOrder's order. */
export function mergeScoreTables(files: readonly { source: string; table: ScoreTable }[], list?: readonly string[]): { text: string; rows: number } {
  if (!files.length) throw new MergeError(['no shard files given']);
  const problems: string[] = [];
  const split = files.map(({ table }) => {
    const i = table.comments.findIndex((c) => parseShardTag(c) !== null);
    return { tag: i >= 0 ? parseShardTag(table.comments[i]) : null, comments: table.comments.filter((_, k) => k !== i) };
  });
  const first = files[0];
  files.forEach(({ source, table }, f) => {
    if (table.kind !== first.table.kind || table.format !== first.table.format) {
      problems.push(`${source} is a ${table.format} ${table.kind === 'detect' ? 'detection' : 'tracing'} file, ${first.source} a ${first.table.format} ${first.table.kind === 'detect' ? 'detection' : 'tracing'} one`);
      return;
    }
    if (split[f].comments.join('\n') !== split[0].comments.join('\n')) {
      const diff = split[f].comments.filter((c) => !split[0].comments.includes(c));
      problems.push(`${source} was written with other settings than ${first.source} (${diff.join('; ') || 'its # lines differ'})`);
    }
    if (table.header !== first.table.header) problems.push(`${source} has other columns than ${first.source} (${table.header.replaceAll('\t', ' ')} vs ${first.table.header.replaceAll('\t', ' ')})`);
    if (table.jsonHead && JSON.stringify({ ...table.jsonHead, trials: 0 }) !== JSON.stringify({ ...first.table.jsonHead, trials: 0 })) problems.push(`${source}: classes or threshold differ from ${first.source}`);
    for (const r of table.rows) if (!r.complete) problems.push(`${source} (${r.where}): incomplete row${r.id ? ` for ${r.id}` : ''}`);
  });
  if (problems.length) throw new MergeError(problems);
  const order = mergeOrder(
    files.map(({ source, table }, f) => ({ source, tag: split[f].tag, ids: table.rows.map((r) => r.id), where: (k: number) => table.rows[k].where })),
    list,
  );
  const rows: TableRow[] = order.map(([f, k]) => files[f].table.rows[k]);
  return { text: formatScoreTable({ ...first.table, comments: split[0].comments }, rows), rows: rows.length };
}
