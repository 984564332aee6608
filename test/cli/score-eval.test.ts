// The hand-off score → eval → calibrate on the same files: `score --out` writes what `eval` and `calibrate` read
// back by column name (TSV, CSV, JSON, columns in any order), and the EER equals the one computed in code from the
// scores score printed. A random-weight checkpoint is labelled untrained.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { detectionMetrics } from '../../train/metrics/detection.ts';
import { useEngine } from '../helpers/engine.ts';
import { MINI, subset, tempDir, writeList } from '../train/mini-lists.ts';

useEngine();

const DETECTOR = fileURLToPath(new URL('../fixtures/nes2net/detector-ddp.pth', import.meta.url));

describe('score → eval → calibrate', () => {
  const dir = tempDir('score-eval');
  const list = writeList(dir, 'list.txt', subset('dev', 4, 8, 9));

  it('eval reads what score writes (TSV, CSV, JSON, reordered columns) and gets the EER computed in code', async () => {
    const tsv = join(dir, 'scores.tsv');
    const s = await cli('score', '--model', DETECTOR, '--crop', 'full', '--list', list, '--root', MINI, '--out', tsv);
    expect(s.code, s.err).toBe(0);
    expect(s.err).toMatch(/UNTRAINED or of unknown provenance/);
    const text = readFileSync(tsv, 'utf8');
    const rows = text.split('\n').filter((l) => l && !l.startsWith('#')).slice(1).map((l) => l.split('\t'));
    expect(rows).toHaveLength(12);
    // ids are the list's paths as written, labels carried over from the list
    expect(rows.map((r) => r[0])).toEqual(readFileSync(list, 'utf8').trim().split('\n').map((l) => l.split(' ')[0]));
    const bona = rows.filter((r) => r[3] === 'bonafide').map((r) => Number(r[1]));
    const spoof = rows.filter((r) => r[3] === 'spoof').map((r) => Number(r[1]));
    const eer = detectionMetrics(bona, spoof).eer;

    const evalJson = async (file: string, ...extra: string[]) => {
      const r = await cli('eval', '--scores', file, '--json', ...extra);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as { eer: number };
    };
    expect((await evalJson(tsv)).eer).toBe(eer);
    expect((await evalJson(tsv, '--protocol', list)).eer).toBe(eer);

    // The same table with its columns in another order: the score column is found by name.
    const [header, ...body] = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
    const order = [3, 2, 0, 1];
    const reordered = join(dir, 'reordered.tsv');
    writeFileSync(reordered, [header, ...body].map((r) => order.map((i) => r[i]).join('\t')).join('\n') + '\n');
    expect((await evalJson(reordered)).eer).toBe(eer);

    for (const format of ['csv', 'json']) {
      const f = join(dir, `scores.${format}`);
      expect((await cli('score', '--model', DETECTOR, '--crop', 'full', '--list', list, '--root', MINI, '--out', f, '--format', format)).code).toBe(0);
      expect((await evalJson(f)).eer).toBe(eer);
    }

    // calibrate fits on the same file, and its calibrated scores are a well-formed file eval reads.
    const cal = join(dir, 'cal.json');
    const llr = join(dir, 'llr.tsv');
    const c = await cli('calibrate', '--scores', tsv, '--out', cal, '--write-scores', llr);
    expect(c.code, c.err).toBe(0);
    const { a } = JSON.parse(readFileSync(cal, 'utf8')) as { a: number };
    expect(Number.isFinite(a)).toBe(true);
    expect((await evalJson(llr)).eer).toBe(eer);
    expect((await evalJson(tsv, '--calibration', cal)).eer).toBe(eer);
  });

  it('a header that names no score column, or JSON without ids and scores, is refused by name', async () => {
    const bad = join(dir, 'bad.tsv');
    writeFileSync(bad, 'id\tlogit0\tlogit1\nbonafide/a.flac\t0.1\t0.2\n');
    const r = await cli('eval', '--scores', bad);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/bad\.tsv:1: the header \(id, logit0, logit1\) names no score column/);
    const j = join(dir, 'bad.json');
    writeFileSync(j, JSON.stringify([{ file: 'a.flac', logits: [0, 1] }]));
    const r2 = await cli('eval', '--scores', j);
    expect(r2.err).toMatch(/bad\.json: entry 0 needs a string "id" \(or "file"\) and a finite number "score"/);
  });
});
