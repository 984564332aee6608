// `spoofscan score` end to end on the tiny MultiAPI-Spoof-layout detector: --json rows have the documented shape and
// equal Detector.score on the same (cropped or whole) samples; the table output and flag errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tensor } from '../../engine/node.ts';
import { run, type ScoreRow } from '../../cli/commands/score.ts';
import { Detector } from '../../models/detector.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { CROP_LENGTH } from '../../train/data/crop.ts';
import { captured, noise, writeWav } from './features-helpers.ts';

const DETECTOR = fileURLToPath(new URL('../fixtures/nes2net/detector-ddp.pth', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spoofscan-score-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// --crop first runs once, on one file (a 64,600-sample forward costs seconds on a CPU adapter); the rest use
// --crop full.
const SAMPLES = [noise(4000, 11), noise(9000, 12)];
const FILES = SAMPLES.map((s, i) => writeWav(dir, `clip${i}.wav`, s));
// Shorter than XLS-R's 400-sample receptive field: only --crop first (repeat-padding) can score it.
const TINY = noise(300, 13);
const TINY_FILE = writeWav(dir, 'tiny.wav', TINY);

/** Detector.score on each input, with the detector opened after the command (run() replaces the engine). */
async function expected(inputs: Float32Array[]): Promise<{ logits: number[][]; scores: number[] }> {
  const src = await fileSource(DETECTOR);
  const { detector } = await Detector.open(src);
  await src.close();
  const res = { logits: [] as number[][], scores: [] as number[] };
  try {
    for (const x of inputs) {
      const wav = tensor(x, [1, x.length]);
      const r = await detector.score(wav);
      wav.dispose();
      res.logits.push(r.logits[0]);
      res.scores.push(r.scores[0]);
    }
  } finally {
    detector.dispose();
  }
  return res;
}

function expectClose(a: number[], b: number[]): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b[i])));
}

describe('spoofscan score', () => {
  it('--crop windows: logits and score are the means of Detector.score over half-overlapping windows, batched', async () => {
    const long = noise(7000, 14);
    const longFile = writeWav(dir, 'long.wav', long);
    // window 4000, hop 2000: starts 0, 2000 and 3000 (the last aligned to the end); batches of 2 windows
    const r = await captured(() => run(['--model', DETECTOR, '--crop', 'windows', '--window', '4000', '--batch', '2', '--json', longFile, TINY_FILE]));
    const rows = JSON.parse(r.stdout) as ScoreRow[];
    expect(rows[0]).toMatchObject({ file: longFile, samples: 7000, input: 4000, crop: 'windows', windows: 3 });
    const e = await expected([long.slice(0, 4000), long.slice(2000, 6000), long.slice(3000, 7000)]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expectClose(rows[0].logits, [0, 1].map((c) => mean(e.logits.map((l) => l[c]))));
    expectClose([rows[0].score], [mean(e.scores)]);
    // a clip shorter than the window is one repeat-padded window (np.tile), even under 400 samples
    expect(rows[1]).toMatchObject({ samples: 300, input: 4000, windows: 1 });
    const tiled = Float32Array.from({ length: 4000 }, (_, i) => TINY[i % 300]);
    expectClose(rows[1].logits, (await expected([tiled])).logits[0]);
  });

  it('--crop full --json: documented rows equal to Detector.score on the whole files', async () => {
    const r = await captured(() => run(['--model', DETECTOR, '--crop', 'full', '--json', ...FILES]));
    expect(r.value).toBe(0);
    expect(r.stderr).not.toMatch(/mapped:/); // --json keeps the load report off
    const rows = JSON.parse(r.stdout) as ScoreRow[];
    expect(rows).toHaveLength(2);
    const ref = await expected(SAMPLES);
    rows.forEach((row, i) => {
      expect(Object.keys(row).sort()).toEqual(['crop', 'decision', 'file', 'id', 'input', 'logits', 'samples', 'score']);
      expect(row).toMatchObject({ file: FILES[i], samples: SAMPLES[i].length, input: SAMPLES[i].length, crop: 'full' });
      expect(row.logits).toHaveLength(2);
      expect(row.score).toBe(row.logits[1]);
      expectClose(row.logits, ref.logits[i]);
    });
    expect(rows[0].score).not.toBe(rows[1].score);
  });

  it('--crop first (default) repeat-pads a short clip (even one under 400 samples) to 64,600 samples like numpy.tile', async () => {
    const r = await captured(() => run(['--model', DETECTOR, '--json', TINY_FILE]));
    expect(r.value).toBe(0);
    const [row] = JSON.parse(r.stdout) as ScoreRow[];
    expect(row).toMatchObject({ file: TINY_FILE, samples: 300, input: CROP_LENGTH, crop: 'first' });
    // The reference pad(): np.tile(x, n)[:64600], written out here independently of train/data/crop.ts.
    const tiled = Float32Array.from({ length: CROP_LENGTH }, (_, i) => TINY[i % TINY.length]);
    const ref = await expected([tiled]);
    expectClose(row.logits, ref.logits[0]);
    expect(row.score).toBe(row.logits[1]);
  });

  it('table output: header, one row per file with 5 decimals; load report on stderr', async () => {
    const r = await captured(() => run(['--model', DETECTOR, '--crop', 'full', FILES[0]]));
    expect(r.value).toBe(0);
    expect(r.stderr).toMatch(/detector-ddp\.pth: torch-zip, layout multiapi/);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^file\s+logit0\s+logit1\s+score\s+decision$/);
    expect(lines).toHaveLength(2);
    const cols = lines[1].trim().split(/\s+/);
    expect(cols[0]).toBe(FILES[0]);
    const ref = await expected([SAMPLES[0]]);
    expect(cols[4]).toMatch(/^(bona|SPOOF)$/);
    expect(cols.slice(1, 4).map(Number)).toEqual([...ref.logits[0], ref.scores[0]].map((v) => Number(v.toFixed(5))));
  });

  it('flag and input errors are clear', async () => {
    await expect(captured(() => run(['--model', DETECTOR, '--crop', 'middle', FILES[0]]))).rejects.toThrow(/--crop must be first, full or windows, not "middle"/);
    await expect(captured(() => run(['--model', DETECTOR, '--crop', 'windows', '--window', '100', FILES[0]]))).rejects.toThrow(/--window must be an integer from 400/);
    await expect(captured(() => run(['--model', DETECTOR, '--window', '4000', FILES[0]]))).rejects.toThrow(/--window applies to --crop windows only/);
    await expect(captured(() => run(['--model', DETECTOR, '--crop', 'windows', '--batch', '0', FILES[0]]))).rejects.toThrow(/--batch must be an integer from 1/);
    await expect(captured(() => run(['--model', DETECTOR]))).rejects.toThrow(/no audio given/);
    await expect(captured(() => run(['--model', DETECTOR, join(dir, 'absent.wav')]))).rejects.toThrow(/absent\.wav: not found/);
    await expect(captured(() => run(['--model', DETECTOR, '--crop', 'full', TINY_FILE]))).rejects.toThrow(/tiny\.wav: too short: 300 samples/);
  });
});
