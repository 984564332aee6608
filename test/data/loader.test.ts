import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WindowScoreAverager } from '../../train/data/crop.ts';
import { decodeAudio } from '../../train/data/decode.ts';
import { DataError } from '../../train/data/errors.ts';
import { DataLoader, epochOrder, formatThroughput, InlineSource, type Batch } from '../../train/data/loader.ts';
import { createNodeLoader, WorkerPoolSource } from '../../train/data/loader.node.ts';
import { readBytes } from '../../train/data/files.node.ts';
import { decodeAudioFile } from '../../train/data/read-audio.node.ts';
import type { PipelineOptions } from '../../train/data/pipeline.ts';
import { parseProtocol, type TrialRecord } from '../../train/data/protocols.ts';
import { encodeWav } from '../../train/data/wav.ts';

const root = fileURLToPath(new URL('../../data/mini', import.meta.url));
const train = parseProtocol(readFileSync(join(root, 'protocols/train.txt'), 'utf8'), 'multiapi', { file: 'train.txt', root });
// A small, class-mixed subset: every 12th record.
const subset = train.filter((_, i) => i % 12 === 0);

async function collect(loader: DataLoader, epoch: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch)) out.push(b);
  return out;
}

describe('epoch order', () => {
  const labels = Int32Array.from({ length: 50 }, (_, i) => (i < 10 ? 1 : 0));
  it('same (seed, epoch) → same order; another epoch or seed → another order; always a permutation', () => {
    const a = epochOrder(labels, 1234, 0, { shuffle: true });
    expect(Array.from(epochOrder(labels, 1234, 0, { shuffle: true }))).toEqual(Array.from(a));
    expect(Array.from(epochOrder(labels, 1234, 1, { shuffle: true }))).not.toEqual(Array.from(a));
    expect(Array.from(epochOrder(labels, 99, 0, { shuffle: true }))).not.toEqual(Array.from(a));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(epochOrder(labels, 1234, 3, { shuffle: false }))).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
  it('class-balanced: equal counts per class, each class cycling through all its items', () => {
    const o = epochOrder(labels, 1, 0, { shuffle: true, balanced: true });
    expect(o.length).toBe(50);
    const bona = Array.from(o).filter((i) => labels[i] === 1);
    expect(bona.length).toBe(25);
    expect(new Set(bona).size).toBe(10); // all 10 bona fide items used, ≥ 2 times each
    const spoof = Array.from(o).filter((i) => labels[i] === 0);
    expect(new Set(spoof).size).toBe(25); // 25 distinct of 40, no repeats
    const odd = epochOrder(labels, 1, 0, { shuffle: true, balanced: true, epochSize: 21 });
    const n1 = Array.from(odd).filter((i) => labels[i] === 1).length;
    expect([10, 11]).toContain(n1);
  });
  it('epochSize larger than the data cycles reshuffled permutations', () => {
    const o = epochOrder(labels, 1, 0, { shuffle: true, epochSize: 120 });
    const counts = new Array(50).fill(0);
    for (const i of o) counts[i]++;
    expect(counts.every((c) => c === 2 || c === 3)).toBe(true);
  });
});

describe('DataLoader on the mini corpus', () => {
  const pipeline: PipelineOptions = { policy: 'repeat-random', seed: 1234, rawboost: 0 };
  const opts = { batchSize: 4, seed: 1234, shuffle: true, dropLast: true };
  const pools: WorkerPoolSource[] = [];
  afterAll(async () => {
    for (const p of pools) await p.close();
  });

  it('batches are plain Float32Array [B, 64600] with labels and record indices', async () => {
    const loader = new DataLoader(subset, new InlineSource(decodeAudioFile, pipeline), opts);
    const batches = await collect(loader, 0);
    expect(batches.length).toBe(Math.floor(subset.length / 4));
    expect(loader.batchesPerEpoch()).toBe(batches.length);
    for (const b of batches) {
      expect(b.shape).toEqual([4, 64600]);
      expect(b.x).toBeInstanceOf(Float32Array);
      expect(b.x.length).toBe(4 * 64600);
      for (let r = 0; r < 4; r++) expect(b.labels[r]).toBe(subset[b.records[r]].label === 'bonafide' ? 1 : 0);
    }
    const st = loader.stats!;
    expect(st.items).toBe(subset.length);
    expect(st.batches).toBe(batches.length);
    expect(st.itemsPerSecond).toBeGreaterThan(0);
    expect(st.audioSecondsPerSecond).toBeGreaterThan(0);
    expect(st.waitFraction).toBeGreaterThanOrEqual(0);
    expect(st.waitFraction).toBeLessThanOrEqual(1);
    expect(formatThroughput(st)).toMatch(/^epoch 0: \d+ items in [\d.]+ s, [\d.]+ items\/s, [\d.]+ s of audio\/s, waiting for data \d+ %$/);
  });

  it('an epoch started at a position (a resumed run) yields exactly the rest of the full epoch, in every prefetch state', async () => {
    const loader = new DataLoader(subset, new InlineSource(decodeAudioFile, pipeline), { ...opts, prefetch: 3 });
    const whole = await collect(loader, 2);
    for (const k of [1, 2, whole.length - 1]) {
      const rest: Batch[] = [];
      for await (const b of loader.epoch(2, k * opts.batchSize)) rest.push(b);
      expect(rest.map((b) => b.index)).toEqual(whole.slice(k).map((b) => b.index));
      rest.forEach((b, i) => {
        expect(Array.from(b.records)).toEqual(Array.from(whole[k + i].records));
        expect(Buffer.from(b.x.buffer).equals(Buffer.from(whole[k + i].x.buffer))).toBe(true);
      });
    }
    await expect(collect({ epoch: (e: number) => loader.epoch(e, subset.length + 1) } as unknown as DataLoader, 0)).rejects.toThrow(/start position/);
  });

  it("policy 'full': whole utterances, never two lengths in one batch", async () => {
    const recs = subset.slice(0, 3);
    const loader = new DataLoader(recs, new InlineSource(decodeAudioFile, { policy: 'full', seed: 0 }), { batchSize: 2, seed: 0, shuffle: false });
    const batches = await collect(loader, 0);
    const frames = await Promise.all(recs.map(async (r) => (await decodeAudio(await readBytes(r.path), r.path)).frames));
    expect(new Set(frames).size).toBe(3);
    // Clips differ in length, so each becomes its own batch of shape [1, T], T = 2 × its 8 kHz length.
    expect(batches.map((b) => b.shape)).toEqual(frames.map((f) => [1, 2 * f]));
  });

  it('same seed → same batches (inline and in worker threads alike); a new epoch → a new order', async () => {
    const inline = await collect(new DataLoader(subset, new InlineSource(decodeAudioFile, pipeline), opts), 0);
    const pool = new WorkerPoolSource(pipeline, 2);
    pools.push(pool);
    const viaWorkers = new DataLoader(subset, pool, opts);
    const w0 = await collect(viaWorkers, 0);
    expect(w0.length).toBe(inline.length);
    for (let i = 0; i < w0.length; i++) {
      expect(Array.from(w0[i].records)).toEqual(Array.from(inline[i].records));
      expect(Buffer.from(w0[i].x.buffer).equals(Buffer.from(inline[i].x.buffer))).toBe(true);
    }
    const w1 = await collect(viaWorkers, 1);
    expect(w1.flatMap((b) => Array.from(b.records))).not.toEqual(w0.flatMap((b) => Array.from(b.records)));
  });

  it('RawBoost and random crops are seeded per (seed, epoch, position); turning RawBoost on keeps the crop offsets', async () => {
    const recs = subset.slice(0, 4);
    const mk = (rawboost: number, seed = 1234) =>
      new DataLoader(recs, new InlineSource(decodeAudioFile, { ...pipeline, rawboost, seed }), { ...opts, seed: 5 });
    const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
    const [plain] = await collect(mk(0), 0);
    const [aug1] = await collect(mk(3), 0);
    const [aug2] = await collect(mk(3), 0);
    const [other] = await collect(mk(0, 99), 0);
    expect(same(aug1.x, aug2.x)).toBe(true);
    expect(same(aug1.x, plain.x)).toBe(false);
    expect(same(other.x, plain.x)).toBe(false);
    expect(Array.from(aug1.records)).toEqual(Array.from(plain.records));
    // SSI adds noise at ≥ 10 dB SNR: with the same crop offset each row stays strongly correlated.
    for (let r = 0; r < 4; r++) {
      const a = plain.x.subarray(r * 64600, (r + 1) * 64600);
      const b = aug1.x.subarray(r * 64600, (r + 1) * 64600);
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let i = 0; i < a.length; i++) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
      }
      expect(ab / Math.sqrt(aa * bb)).toBeGreaterThan(0.9);
    }
  });

  it('evaluation windows: several rows per long utterance, averaged back to one score each', async () => {
    const recs = subset.slice(0, 6);
    const L = 16000;
    const loader = new DataLoader(recs, new InlineSource(decodeAudioFile, { policy: 'windows', length: L, seed: 0 }), {
      batchSize: 5,
      seed: 0,
      shuffle: false,
    });
    const avg = new WindowScoreAverager();
    const scores = new Map<number, number>();
    let rows = 0;
    for await (const b of loader.epoch(0)) {
      expect(b.shape[1]).toBe(L);
      for (let r = 0; r < b.shape[0]; r++) {
        rows++;
        const done = avg.add(b.records[r], b.windowCounts[r], b.records[r] * 10 + 1);
        if (done !== null) scores.set(b.records[r], done);
      }
    }
    expect(rows).toBeGreaterThan(recs.length);
    expect(avg.open).toBe(0);
    expect([...scores.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(scores.get(3)).toBe(31);
  });

  it('missing files are reported up front, all at once; a bad file fails with its name (also from a worker)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoofscan-loader-'));
    const bad = join(dir, 'bad.wav');
    writeFileSync(bad, 'RIFF....WAVEjunk');
    const good = join(dir, 'good.wav');
    writeFileSync(good, encodeWav(new Float32Array(8000), 16000));
    const recs: TrialRecord[] = [
      { path: good, label: 'bonafide', source: 'l.txt:1' },
      { path: join(dir, 'nope1.wav'), label: 'spoof', source: 'l.txt:2' },
      { path: join(dir, 'nope2.wav'), label: 'spoof', source: 'l.txt:3' },
    ];
    await expect(createNodeLoader(recs, { ...opts, pipeline, workers: 0 })).rejects.toThrow(/2 of 3 listed audio files are missing:\n {2}l\.txt:2: .*nope1\.wav\n {2}l\.txt:3: .*nope2\.wav/);
    const loader = await createNodeLoader([recs[0], { path: bad, label: 'spoof', source: 'l.txt:4' }], {
      ...opts,
      batchSize: 1,
      pipeline,
      workers: 1,
    });
    const err = await collect(loader, 0).catch((e) => e);
    await loader.source.close?.();
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/bad\.wav: (no fmt chunk|not a WAV file)/);
  });
});
