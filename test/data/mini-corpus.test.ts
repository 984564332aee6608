import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../../train/data/decode.ts';
import { parseProtocol } from '../../train/data/protocols.ts';
import { kaiserLowpass, MINI_BAND_LIMIT } from '../../scripts/corpus/band-limit.ts';
import { freqzMagnitude } from '../../train/data/rawboost.ts';
import { energyAboveDb, rms } from './helpers.ts';

const root = fileURLToPath(new URL('../../data/mini', import.meta.url));
const read = (rel: string) => readFileSync(join(root, rel), 'utf8');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}

const classes = read('classes.tsv')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => {
    const [dir, label, tracing, splits] = l.split('\t');
    return { dir, label, tracing, splits };
  });
const splits = ['train', 'dev', 'eval'] as const;
const lists = Object.fromEntries(
  splits.map((s) => [s, parseProtocol(read(`protocols/${s}.txt`), 'multiapi', { file: `protocols/${s}.txt`, root })]),
) as Record<(typeof splits)[number], ReturnType<typeof parseProtocol>>;

describe('the committed mini corpus (data/mini)', () => {
  it('is small: at most 20 MB in all', () => {
    const total = walk(root).reduce((s, f) => s + statSync(f).size, 0);
    expect(total).toBeLessThan(20 * 1024 * 1024);
  });

  it('has ≥ 6 spoofing APIs, ≥ 2 of them unseen in training, and bona fide in every split', () => {
    const spoof = classes.filter((c) => c.label === 'spoof');
    expect(spoof.length).toBeGreaterThanOrEqual(6);
    const unseen = spoof.filter((c) => c.splits.includes('unseen')).map((c) => c.dir);
    expect(unseen.length).toBeGreaterThanOrEqual(2);
    const trainGroups = new Set(lists.train.map((r) => r.group));
    for (const u of unseen) expect(trainGroups.has(u)).toBe(false);
    for (const u of unseen) expect(lists.eval.some((r) => r.group === u)).toBe(true);
    for (const s of splits) {
      expect(lists[s].some((r) => r.label === 'bonafide')).toBe(true);
      expect(new Set(lists[s].filter((r) => r.label === 'spoof').map((r) => r.group)).size).toBeGreaterThanOrEqual(6);
    }
  });

  it('every audio file is listed exactly once, every listed file exists', () => {
    const listed = splits.flatMap((s) => lists[s].map((r) => r.path)).sort();
    const files = walk(root).filter((f) => f.endsWith('.flac')).sort();
    expect(listed).toEqual(files);
  });

  it('splits by sentence: no sentence appears in two splits', () => {
    const sentence = (p: string) => p.split('/').pop()!;
    const seen = new Map<string, string>();
    for (const s of splits)
      for (const r of lists[s]) {
        const k = sentence(r.path);
        expect(seen.get(k) ?? s, k).toBe(s);
        seen.set(k, s);
      }
  });

  it('tracing lists: seen APIs 0..K−1 in train/dev, unseen class K in eval only, spoofed clips only', () => {
    const seen = classes.filter((c) => c.label === 'spoof' && !c.splits.includes('unseen'));
    const K = seen.length;
    for (const s of splits) {
      const t = parseProtocol(read(`protocols/${s}_tracing.txt`), 'multiapi-tracing', { root });
      expect(t.length).toBe(lists[s].filter((r) => r.label === 'spoof').length);
      for (const r of t) {
        const c = classes.find((x) => x.dir === r.group)!;
        expect(String(r.label)).toBe(c.tracing);
        expect(r.label).toBeLessThanOrEqual(K);
        if (s !== 'eval') expect(r.label).toBeLessThan(K);
      }
    }
  });

  it('every clip went through the same chain: FLAC 8 kHz mono 16-bit (no class recognisable by its rate)', () => {
    for (const f of walk(root).filter((x) => x.endsWith('.flac'))) {
      const b = readFileSync(f);
      const s = 8 + 10; // STREAMINFO body + 10: rate (20 bits), channels − 1 (3), bits − 1 (5)
      const rate = (b[s] << 12) | (b[s + 1] << 4) | (b[s + 2] >> 4);
      const channels = ((b[s + 2] >> 1) & 7) + 1;
      const bits = (((b[s + 2] & 1) << 4) | (b[s + 3] >> 4)) + 1;
      expect([rate, channels, bits], f).toEqual([8000, 1, 16]);
    }
  });

  it('same loudness for every class: RMS −23 dBFS unless the 0.99 peak limit applied', async () => {
    for (const c of classes) {
      const dir = join(root, c.dir);
      for (const f of readdirSync(dir).sort().slice(0, 3)) {
        const d = await decodeAudio(new Uint8Array(readFileSync(join(dir, f))), f);
        const x = d.channelData[0];
        const level = 20 * Math.log10(rms(x));
        const peak = Math.max(...x.map(Math.abs));
        if (peak < 0.98) expect(Math.abs(level + 23), `${c.dir}/${f}`).toBeLessThan(0.05);
        else expect(level).toBeLessThan(-22.9);
        expect(d.frames / 8000).toBeGreaterThan(0.5);
      }
    }
  });

  it('same band limit for every class: no class keeps energy above 3.8 kHz (where sources differ)', async () => {
    // Sources have different native roll-offs (the Asterisk prompts a steep telephone filter, the
    // resampled TTS output a gentle one); the common low-pass must leave nothing of that difference.
    for (const c of classes) {
      const dir = join(root, c.dir);
      const xs = [];
      for (const f of readdirSync(dir).sort().slice(0, 4))
        xs.push((await decodeAudio(new Uint8Array(readFileSync(join(dir, f))), f)).channelData[0]);
      expect(energyAboveDb(xs, 8000, 3850), c.dir).toBeLessThan(-70);
    }
  });
});

describe('the common low-pass of the corpus builder (scripts/corpus/band-limit.ts)', () => {
  it('is flat in the telephone band and ≥ 80 dB down in its stop band, with unity DC gain', () => {
    const h = kaiserLowpass(8000);
    expect(h.length % 2).toBe(1);
    const mag = freqzMagnitude(h, 2048); // bin k ↔ k·4000/2048 Hz
    const hz = (k: number) => (k * 4000) / 2048;
    for (let k = 0; k < 2048; k++) {
      const db = 20 * Math.log10(mag[k] + 1e-30);
      if (hz(k) <= MINI_BAND_LIMIT.passHz) expect(Math.abs(db), `${hz(k)} Hz`).toBeLessThan(0.01);
      if (hz(k) >= MINI_BAND_LIMIT.stopHz) expect(db, `${hz(k)} Hz`).toBeLessThan(-80);
    }
    expect(h.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});
