// Sharding (inference/shard.ts), resumable shard outputs (cli/shard-output.ts) and merging (inference/merge.ts,
// spoofscan merge): the split covers every item exactly once and is deterministic; --shard auto reads Slurm and
// Kubernetes environments; merge reports missing and duplicate ids by shard file; a re-run skips complete ids.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, renameSync } from 'node:fs';
import { run as features } from '../../cli/commands/features.ts';
import { run as merge } from '../../cli/commands/merge.ts';
import { run as score } from '../../cli/commands/score.ts';
import { partialPath, ResumableScoreFile } from '../../cli/shard-output.ts';
import { MergeError, mergeOrder, mergeScoreTables } from '../../inference/merge.ts';
import { formatScoreTable, parseScoreTable } from '../../inference/score-table.ts';
import { formatDetectionScores, formatTracingScores, type DetectionRow } from '../../inference/score-writer.ts';
import { formatShardTag, parseShard, parseShardTag, shardIndices, takeShard } from '../../inference/shard.ts';
import { captured, noise, writeWav } from '../models/features-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'spoofscan-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DETECTOR = fileURLToPath(new URL('../fixtures/nes2net/detector-ddp.pth', import.meta.url));

describe('the split (--shard i/N)', () => {
  it('puts every item in exactly one shard, in list order, sizes within one, the same every time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 40 }), (total, count) => {
        const seen = new Array<number>(total).fill(0);
        const sizes: number[] = [];
        for (let index = 0; index < count; index++) {
          const ks = shardIndices(total, { index, count });
          expect(ks).toEqual(shardIndices(total, { index, count }));
          expect([...ks].sort((a, b) => a - b)).toEqual(ks);
          for (const k of ks) {
            expect(k % count).toBe(index);
            seen[k]++;
          }
          sizes.push(ks.length);
        }
        expect(seen.every((n) => n === 1)).toBe(true);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
    expect(takeShard(['a', 'b', 'c', 'd', 'e'], { index: 1, count: 2 })).toEqual([
      { item: 'b', index: 1 },
      { item: 'd', index: 3 },
    ]);
  });

  it('parses i/N and refuses bad specs', () => {
    expect(parseShard('2/5', {})).toMatchObject({ index: 2, count: 5 });
    expect(() => parseShard('5/5', {})).toThrow(/outside 0…4/);
    expect(() => parseShard('1-4', {})).toThrow(/i\/N/);
    expect(() => parseShard('0/0', {})).toThrow(/at least 1/);
    expect(() => parseShard('1/4', {}, '3')).toThrow(/disagree/);
  });

  it('--shard auto: Slurm array task (COUNT, or MIN/MAX), Kubernetes Indexed Job, and clear errors', () => {
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2' })).toMatchObject({ index: 2, count: 3 });
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '4' })).toMatchObject({ index: 3, count: 4 });
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '1' }, '2')).toMatchObject({ index: 1, count: 2 });
    expect(() => parseShard('auto', { SLURM_ARRAY_TASK_ID: '1' })).toThrow(/give --shards N/);
    expect(() => parseShard('auto', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '4', SLURM_ARRAY_TASK_STEP: '2' })).toThrow(/step 2/);
    expect(() => parseShard('auto', { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '7' })).toThrow(/not consecutive/);
    expect(() => parseShard('auto', { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '3' }, '4')).toThrow(/--shards says 4/);
    expect(parseShard('auto', { JOB_COMPLETION_INDEX: '5' }, '8')).toMatchObject({ index: 5, count: 8 });
    expect(parseShard('auto', { JOB_COMPLETION_INDEX: '5', SPOOFSCAN_SHARDS: '6' })).toMatchObject({ index: 5, count: 6 });
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '5' })).toThrow(/give --shards N or set SPOOFSCAN_SHARDS/);
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '9' }, '8')).toThrow(/outside 0…7/);
    expect(() => parseShard('auto', {})).toThrow(/neither SLURM_ARRAY_TASK_ID .* nor JOB_COMPLETION_INDEX/);
  });

  it('the shard line round-trips', () => {
    expect(parseShardTag(formatShardTag({ index: 3, count: 7, total: 100 }))).toEqual({ index: 3, count: 7, total: 100 });
    expect(parseShardTag('score_type=bona_logit')).toBeNull();
  });
});

/** A detection shard file as spoofscan score --shard i/N writes it, for ids of a list of `total`. */
function detShard(list: readonly string[], index: number, count: number, drop: string[] = [], extra: string[] = []): string {
  const rows: DetectionRow[] = [...takeShard(list, { index, count }).map((x) => x.item).filter((id) => !drop.includes(id)), ...extra].map((id) => ({
    id,
    score: id.length / 10,
    logits: [],
    decision: 'spoof',
    label: 'spoof',
  }));
  return formatDetectionScores(rows, 'tsv', [formatShardTag({ index, count, total: list.length }), 'score_type=bona_logit', 'model=m']);
}

const LIST = Array.from({ length: 10 }, (_, k) => `clip${k}.wav`);
const tables = (texts: string[]) => texts.map((t, i) => ({ source: `s${i}.tsv`, table: parseScoreTable(t, `s${i}.tsv`) }));

describe('merge', () => {
  it('interleaves the shards back into list order, equal to the unsharded file', () => {
    const whole = formatDetectionScores(LIST.map((id) => ({ id, score: id.length / 10, logits: [], decision: 'spoof' as const, label: 'spoof' })), 'tsv', ['score_type=bona_logit', 'model=m']);
    const shards = [2, 0, 1].map((i) => detShard(LIST, i, 3));
    expect(mergeScoreTables(tables(shards)).text).toBe(whole);
    expect(mergeScoreTables(tables(shards), LIST).text).toBe(whole);
  });

  it('reports missing ids by shard file, duplicates with both files, an absent shard', () => {
    const shards = [detShard(LIST, 0, 3, ['clip3.wav']), detShard(LIST, 1, 3, [], ['clip0.wav'])];
    let err: MergeError | undefined;
    try {
      mergeScoreTables(tables(shards));
    } catch (e) {
      err = e as MergeError;
    }
    expect(err).toBeInstanceOf(MergeError);
    const text = err!.problems.join('\n');
    expect(text).toMatch(/duplicate id clip0\.wav: in s0\.tsv \(line 5\) and in s1\.tsv \(line \d+\)/);
    expect(text).toMatch(/shard 2 of 3 not given/);
    expect(text).toMatch(/s0\.tsv \(shard 0\/3\): 1 of its 4 ids missing/);
    // With the list: the missing id by name and the shard file that should have held it.
    expect(() => mergeScoreTables(tables([detShard(LIST, 0, 3, ['clip3.wav']), detShard(LIST, 1, 3), detShard(LIST, 2, 3)]), LIST)).toThrow(/1 id\(s\) of the list missing \(shard 0: s0\.tsv\): clip3\.wav/);
    expect(() => mergeScoreTables(tables([detShard(LIST, 0, 3), detShard(LIST, 1, 3), detShard(LIST, 2, 3)]), [...LIST, 'clip10.wav'])).toThrow(/list of 10 items, the list given has 11/);
  });

  it('refuses shards written with other settings, or mixing detection and tracing', () => {
    const other = detShard(LIST, 1, 3).replace('model=m', 'model=other');
    expect(() => mergeScoreTables(tables([detShard(LIST, 0, 3), other, detShard(LIST, 2, 3)]))).toThrow(/s1\.tsv was written with other settings than s0\.tsv \(model=other\)/);
    const trace = formatTracingScores([{ id: 'a', predicted: 0, label: 'x', probs: [1] }], ['x'], 0.5, 'tsv');
    expect(() => mergeScoreTables(tables([detShard(LIST, 0, 3), trace]))).toThrow(/tracing/);
  });

  it('tracing files: shards (tsv) merge into the unsharded file; JSON tracing round-trips', () => {
    const names = ['api-a', 'api-b'];
    const row = (id: string, k: number) => ({ id, predicted: k % 3, label: k % 3 === 2 ? 'unseen' : names[k % 3], probs: [0.25 + k / 100, 0.75 - k / 100] });
    const rows = LIST.map((id, k) => row(id, k));
    const whole = formatTracingScores(rows, names, 0.6, 'tsv');
    const shards = [1, 0].map((i) => {
      const text = formatTracingScores(takeShard(rows, { index: i, count: 2 }).map((x) => x.item), names, 0.6, 'tsv');
      return `# ${formatShardTag({ index: i, count: 2, total: LIST.length })}\n${text}`;
    });
    expect(mergeScoreTables(tables(shards)).text).toBe(whole);
    const json = formatTracingScores(rows, names, 0.6, 'json');
    const t = parseScoreTable(json, 't.json');
    expect(t.kind).toBe('trace');
    expect(t.rows.every((r) => r.complete)).toBe(true);
    expect(formatScoreTable(t, t.rows)).toBe(json);
  });

  it('untagged files (JSON, or plain runs) join in the order given; duplicates still caught', () => {
    const order = mergeOrder([
      { source: 'a', tag: null, ids: ['x', 'y'], where: (k) => `entry ${k}` },
      { source: 'b', tag: null, ids: ['z'], where: (k) => `entry ${k}` },
    ]);
    expect(order).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
    ]);
    expect(() => mergeOrder([{ source: 'a', tag: null, ids: ['x', 'x'], where: (k) => `entry ${k}` }])).toThrow(/duplicate id x: twice in a \(entry 0 and entry 1\)/);
    const json = formatDetectionScores([{ id: 'q', score: 0.1, logits: [1, 2] }], 'json');
    const t = parseScoreTable(json, 'q.json');
    expect(formatScoreTable(t, t.rows)).toBe(json);
  });
});

describe('resumable shard output', () => {
  const render = (ids: string[]) => formatDetectionScores(ids.map((id) => ({ id, score: 1.5, logits: [], decision: 'bonafide' as const })), 'tsv', ['model=m']);

  it('saves OUT.partial every K rows, skips complete rows on a re-run, refuses other settings', async () => {
    const out = join(dir, 'r.tsv');
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const tag = { index: 0, count: 1, total: 5 };
    const f = await ResumableScoreFile.open({ out, format: 'tsv', ids, tag, saveEvery: 2 });
    f.setLayout(render([]));
    for (const id of ['a', 'b', 'c']) await f.add(id, render([id]));
    // "preempted" here: the partial file holds a and b (saved after the 2nd row), not c.
    const partial = parseScoreTable(readFileSync(partialPath(out), 'utf8'), 'p');
    expect(partial.rows.map((r) => r.id)).toEqual(['a', 'b']);
    expect(existsSync(out)).toBe(false);
    // An incomplete row (a score that is no number) is computed again.
    writeFileSync(partialPath(out), readFileSync(partialPath(out), 'utf8').replace(/^b\t1\.5/m, 'b\tnan?'));
    const g = await ResumableScoreFile.open({ out, format: 'tsv', ids, tag, saveEvery: 2 });
    expect(g.resumed).toBe(1);
    expect(g.todo).toEqual(['b', 'c', 'd', 'e']);
    g.setLayout(render([]));
    for (const id of g.todo) await g.add(id, render([id]));
    expect(await g.finish()).toBe(5);
    expect(existsSync(partialPath(out))).toBe(false);
    const done = readFileSync(out, 'utf8');
    expect(parseScoreTable(done, out).rows.map((r) => r.id)).toEqual(ids);
    expect(done.split('\n')[0]).toBe(`# ${formatShardTag(tag)}`);
    // Other settings, or another shard, are refused.
    const h = await ResumableScoreFile.open({ out, format: 'tsv', ids, tag, saveEvery: 2 });
    expect(h.todo).toEqual([]);
    expect(() => h.setLayout(formatDetectionScores([], 'tsv', ['model=other']))).toThrow(/other settings \(model=m\)/);
    await expect(ResumableScoreFile.open({ out, format: 'tsv', ids, tag: { index: 0, count: 2, total: 5 }, saveEvery: 2 })).rejects.toThrow(/holds shard 0\/1 of 5 items, this run is shard 0\/2/);
    await expect(ResumableScoreFile.open({ out, format: 'csv', ids, tag, saveEvery: 2 })).rejects.toThrow(/written as tsv/);
  });

  it('spoofscan score --shard: a re-run keeps complete rows (not rescored) and scores only the rest; merge equals the unsharded run', async () => {
    const files = [noise(3000, 1), noise(3500, 2), noise(4000, 3), noise(2500, 4), noise(3200, 5)].map((x, i) => writeWav(dir, `c${i}.wav`, x));
    const list = join(dir, 'list.txt');
    writeFileSync(list, files.map((f) => `${f.slice(dir.length + 1)}\tbonafide\n`).join(''));
    const args = ['--model', DETECTOR, '--crop', 'full', '--list', list, '--root', dir];
    const whole = join(dir, 'whole.tsv');
    expect((await captured(() => score([...args, '--out', whole]))).value).toBe(0);
    const shard = (i: number) => join(dir, `sh.${i}.tsv`);
    for (const i of [0, 1]) expect((await captured(() => score([...args, '--shard', `${i}/2`, '--out', join(dir, 'sh.{shard}.tsv')]))).value).toBe(0);
    // Simulate a preemption of shard 0: only the first row survived, in OUT.partial, with a marked score.
    const text = readFileSync(shard(0), 'utf8');
    const t = parseScoreTable(text, 'x');
    const marked = t.rows[0].line!.replace(/\t[^\t]+/, '\t123.5');
    writeFileSync(partialPath(shard(0)), formatScoreTable(t, [{ ...t.rows[0], line: marked }]));
    rmSync(shard(0));
    const r = await captured(() => score([...args, '--shard', '0/2', '--out', shard(0)]));
    expect(r.stderr).toMatch(/resuming .*sh\.0\.tsv: 1 of 3 already scored/);
    expect(r.stderr).toMatch(/wrote 3 scores .* \(2 new, 1 resumed\)/);
    expect(existsSync(partialPath(shard(0)))).toBe(false);
    const again = readFileSync(shard(0), 'utf8');
    expect(again).toBe(text.replace(t.rows[0].line!, marked));
    // Put the true row back; merge then equals the unsharded file byte for byte.
    writeFileSync(shard(0), text);
    const merged = join(dir, 'merged.tsv');
    expect((await captured(() => merge([merged, shard(1), shard(0), '--list', list]))).value).toBe(0);
    expect(readFileSync(merged, 'utf8')).toBe(readFileSync(whole, 'utf8'));
    // A shard missing: nothing written, the shard named.
    rmSync(merged);
    await expect(captured(() => merge([merged, shard(1)]))).rejects.toThrow(/shard 0 of 2 not given/);
    expect(existsSync(merged)).toBe(false);
  });

  it('spoofscan features --shard: saved parts are used on a re-run; merge of the shards equals the unsharded file', async () => {
    const files = [noise(3000, 7), noise(3600, 8), noise(2800, 9)].map((x, i) => writeWav(dir, `f${i}.wav`, x));
    const list = join(dir, 'flist.txt');
    writeFileSync(list, files.map((f) => `${f.slice(dir.length + 1)}\tbonafide\n`).join(''));
    const args = ['--model', DETECTOR, '--list', list, '--root', dir];
    const whole = join(dir, 'fwhole.safetensors');
    expect((await captured(() => features([...args, '--out', whole]))).value).toBe(0);
    const shard = (i: number) => join(dir, `fs.${i}.safetensors`);
    for (const i of [0, 1]) expect((await captured(() => features([...args, '--shard', `${i}/2`, '--save-every', '1', '--out', join(dir, 'fs.{shard}.safetensors')]))).value).toBe(0);
    expect(existsSync(`${shard(0)}.partial.0.safetensors`)).toBe(false);
    // Preempted before the final write: its results only in a saved part; the re-run computes nothing.
    const kept = join(dir, 'kept.safetensors');
    copyFileSync(shard(0), kept);
    renameSync(shard(0), `${shard(0)}.partial.0.safetensors`);
    const r = await captured(() => features([...args, '--shard', '0/2', '--out', shard(0)]));
    expect(r.stderr).toMatch(/resuming .*: 2 of 2 inputs already done/);
    expect(r.stderr).toMatch(/nothing to compute/);
    expect(readFileSync(shard(0))).toEqual(readFileSync(kept));
    expect(existsSync(`${shard(0)}.partial.0.safetensors`)).toBe(false);
    const merged = join(dir, 'fmerged.safetensors');
    expect((await captured(() => merge([merged, shard(1), shard(0)]))).value).toBe(0);
    expect(readFileSync(merged)).toEqual(readFileSync(whole));
    await expect(captured(() => merge([join(dir, 'x.safetensors'), shard(1), shard(1)]))).rejects.toThrow(/shard 1\/2 given twice/);
  });
});
