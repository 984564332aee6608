// Issue 16: a 1 GiB single line (no line break) given to every text reader — score files, protocols and lists
// (`eval`, `calibrate`, `score --list`, `audio list`, `train`'s lists), calibration JSON — ends in one line naming
// the file in bounded time and memory: the readers stream 1 MiB at a time with a 1 MiB line bound
// (train/data/text-file.node.ts). The file is written as 8 MiB of text followed by a hole (no disk, no memory)
// and removed afterwards.
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLinesSync, readTextSync } from '../../train/data/text-file.node.ts';
import { readList } from '../../train/session.node.ts';
import { defaultConfig } from '../../train/config.ts';
import { cli } from '../helpers/cli.ts';

const GiB = 2 ** 30;
const dir = mkdtempSync(join(tmpdir(), 'spoofscan-longline-'));
const big = join(dir, 'one-line.txt');
const NO_STACK = /\n\s+at /;

beforeAll(() => {
  const fd = openSync(big, 'w');
  const block = Buffer.alloc(1 << 20, 'a');
  for (let i = 0; i < 8; i++) writeSync(fd, block);
  ftruncateSync(fd, GiB); // the rest: a hole (reads as NUL bytes, still no line break)
  closeSync(fd);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn`, and checks it took under `ms` and grew array buffers by less than `mem` bytes. */
async function bounded<T>(fn: () => Promise<T>, ms = 15_000, mem = 64 << 20): Promise<T> {
  const t0 = Date.now();
  const before = process.memoryUsage().arrayBuffers;
  const r = await fn();
  expect(Date.now() - t0).toBeLessThan(ms);
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(mem);
  return r;
}

const TOO_LONG = /one-line\.txt: line 1 is longer than 1 MiB/;
// score files allow 64 MiB lines (a JSON score file on one line, as Python's json.dump writes it)
const SCORE_TOO_LONG = /one-line\.txt: line 1 is longer than 64 MiB/;
const SCORE_MEM = 160 << 20;

function expectOneLine(r: { code: number; err: string }, message: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(NO_STACK);
  // one error line (a large score file may first get eval's heap warning)
  expect(r.err.trim().split('\n').filter((l) => !l.startsWith('warning: '))).toHaveLength(1);
}

describe('a 1 GiB single line', () => {
  it('the line reader stops after about 1 MiB, naming the file and the line', async () => {
    await bounded(async () => expect(() => [...readLinesSync(big)]).toThrow(TOO_LONG), 5000);
    expect(() => readTextSync(big)).toThrow(/one-line\.txt: file of 1073741824 bytes is larger than the 256 MiB limit/);
  });

  it('eval --scores, eval --protocol', async () => {
    const scores = join(dir, 'scores.txt');
    writeFileSync(scores, 'a 1.5 bonafide\nb -2 spoof\n');
    expectOneLine(await bounded(() => cli('eval', '--scores', big), 15_000, SCORE_MEM), SCORE_TOO_LONG);
    expectOneLine(await bounded(() => cli('eval', '--scores', scores, '--protocol', big)), TOO_LONG);
  });

  it('a JSON score file on one line (2 MiB, as json.dump writes it) is still read', async () => {
    const json = join(dir, 'scores.json');
    const rows = Array.from({ length: 40_000 }, (_, i) => ({ id: `trial_${i}`, score: i % 2 ? 1 + i / 1e5 : -1 - i / 1e5, label: i % 2 ? 'bonafide' : 'spoof' }));
    writeFileSync(json, JSON.stringify(rows));
    const r = await cli('eval', '--scores', json);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/EER/);
  });

  it('calibrate --scores, --protocol, --calibration', async () => {
    const scores = join(dir, 'dev.txt');
    writeFileSync(scores, 'a 1.5 bonafide\nb -2 spoof\nc 0.5 bonafide\nd -1 spoof\n');
    expectOneLine(await bounded(() => cli('calibrate', '--scores', big), 15_000, SCORE_MEM), SCORE_TOO_LONG);
    expectOneLine(await bounded(() => cli('calibrate', '--scores', scores, '--protocol', big)), TOO_LONG);
    expectOneLine(
      await bounded(() => cli('calibrate', '--calibration', big, '--apply', scores, '--write-scores', join(dir, 'out.txt'))),
      /one-line\.txt: file of 1073741824 bytes is larger than the 16 MiB limit/,
    );
  });

  it('score --list and audio list', async () => {
    expectOneLine(await bounded(() => cli('score', '--list', big, '--root', dir)), /one-line\.txt: file of 1073741824 bytes is larger than the 256 MiB limit/);
    expectOneLine(await bounded(() => cli('audio', 'list', big)), /one-line\.txt: file of 1073741824 bytes is larger than the 256 MiB limit/);
  });

  it('merge (score shards, --list) and score --resume (its saved output)', async () => {
    const shard = join(dir, 'shard.tsv');
    writeFileSync(shard, '# spoofscan shard 1/2 of 2 items\nid\tscore\ta.wav\t1\n');
    const sizeMsg = /one-line\.txt: file of 1073741824 bytes is larger than the 256 MiB limit/;
    expectOneLine(await bounded(() => cli('merge', join(dir, 'merged.tsv'), big)), sizeMsg);
    expectOneLine(await bounded(() => cli('merge', join(dir, 'merged.tsv'), shard, '--list', big)), sizeMsg);
    const wav = join(dir, 'x.wav');
    writeFileSync(wav, 'not read: the saved output is refused first');
    expectOneLine(await bounded(() => cli('score', '--resume', '--out', big, wav)), sizeMsg);
  });

  it('a list under the size bound but with one 2 MiB line: score --list, audio list and train\'s list reader', async () => {
    const list = join(dir, 'list.txt');
    const fd = openSync(list, 'w');
    writeSync(fd, 'a.wav bonafide\n');
    ftruncateSync(fd, 15 + (2 << 20)); // line 2: 2 MiB of NUL bytes, no break
    closeSync(fd);
    const msg = /list\.txt: line 2 is longer than 1 MiB/;
    expectOneLine(await bounded(() => cli('score', '--list', list, '--root', dir)), msg);
    expectOneLine(await bounded(() => cli('audio', 'list', list)), msg);
    await expect(readList(list, defaultConfig('detect'))).rejects.toThrow(msg);
  });
});
