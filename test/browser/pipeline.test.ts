// The whole scoring pipeline in the browser: the audio pipeline (decode WAV/FLAC/MP3, mix to mono, resample
// to 16 kHz, seeded RawBoost), weight files (safetensors and PyTorch zip read lazily over HTTP Range
// requests and from a Blob) and the detector itself run from the same code in headless Chromium and give
// what they give in Node.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { nodeOnlyGuard } from '../../web/build.mjs';
import { startStaticServer, type StaticServer } from '../../web/static-server.mjs';
import { runDataCheck, type DataCheckResult } from '../../web/data-check.ts';
import { summariseCheckpoint, type IoCheckTensor } from '../../web/io-check.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { detectorLogits } from '../../web/model-check.ts';
import { initEngine } from '../../engine/node.ts';
// The engine does not import kernels: loading them registers the self-check initEngine runs and gradient accumulation.
import '../../kernels/index.ts';
import { buildWav } from '../data/helpers.ts';
import { launchChromium, recordPageProblems } from './chromium.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const WEIGHT_FILES = ['test/fixtures/io/hf/model.safetensors', 'test/fixtures/io/hf/pytorch_model.bin', 'test/fixtures/nes2net/detector-ddp.pth'];
const DETECTOR = 'detector-ddp.pth';

let workDir = '';
let server: StaticServer | null = null;
let browser: Browser | null = null;
let files: { name: string; bytes: Uint8Array }[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'spoofscan-data-'));
  await build({
    entryPoints: [join(REPO, 'web/data-check.ts'), join(REPO, 'web/io-check.ts'), join(REPO, 'web/model-check.ts')],
    outdir: workDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [nodeOnlyGuard],
  });
  await writeFile(
    join(workDir, 'index.html'),
    `<!doctype html><title>data check</title><link rel="icon" href="data:,"><script type="module">import { runDataCheck } from './data-check.js'; import { runIoCheck } from './io-check.js'; import * as modelCheck from './model-check.js'; Object.assign(window, { runDataCheck, runIoCheck, modelCheck });</script>`,
  );
  for (const f of WEIGHT_FILES) await copyFile(join(REPO, f), join(workDir, f.split('/').pop()!));
  server = await startStaticServer(workDir, { host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
  // A 22.05 kHz stereo 24-bit WAV (resampled), a FLAC of the mini corpus, and a stereo MP3.
  const stereo = [0, 1].map((c) => Array.from({ length: 9000 }, (_, i) => Math.round(3e6 * Math.sin((2 * Math.PI * (300 + 200 * c) * i) / 22050))));
  files = [
    { name: 'tones.wav', bytes: buildWav({ formatTag: 1, bits: 24, channels: 2, rate: 22050, samples: stereo, extensible: true }) },
    { name: 'data/mini/espeak/conf-getpin.flac', bytes: new Uint8Array(await readFile(join(REPO, 'data/mini/espeak/conf-getpin.flac'))) },
    { name: 'tones-22050-stereo.mp3', bytes: new Uint8Array(await readFile(join(REPO, 'test/data/fixtures/tones-22050-stereo.mp3'))) },
  ];
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('audio pipeline in headless Chromium', () => {
  it('decodes, resamples and augments as Node does (within 1e-9 of full scale)', async () => {
    const node = await runDataCheck(files);
    const tab = await browser!.newPage();
    const problems = recordPageProblems(tab);
    await tab.goto(server!.url);
    await tab.waitForFunction(() => 'runDataCheck' in window, undefined, { timeout: 30_000 });
    const payload = files.map((f) => ({ name: f.name, b64: Buffer.from(f.bytes).toString('base64') }));
    const page = (await tab.evaluate(async (input) => {
      const run = (window as unknown as { runDataCheck: typeof runDataCheck }).runDataCheck;
      return run(input.map((f) => ({ name: f.name, bytes: Uint8Array.from(atob(f.b64), (ch) => ch.charCodeAt(0)) })));
    }, payload)) as DataCheckResult[];
    expect(problems, problems.join('\n')).toEqual([]);
    expect(page.map((r) => [r.name, r.sourceRate, r.channels, r.samples.length])).toEqual(node.map((r) => [r.name, r.sourceRate, r.channels, r.samples.length]));
    expect(node.map((r) => r.sourceRate)).toEqual([22050, 8000, 22050]);
    // Node's and Chromium's V8 may round Math.sin/cos (filter design, windows) differently in the last
    // bit: allow 1e-9 of full scale, far below any real difference (a wrong sample or phase is ≥ 1e-3).
    const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, j) => Math.max(m, Math.abs(v - b[j])), 0);
    for (let i = 0; i < node.length; i++) {
      expect(node[i].samples.length).toBeGreaterThan(1000);
      expect(maxDiff(page[i].samples, node[i].samples), `${node[i].name}: decoded samples`).toBeLessThanOrEqual(1e-9);
      expect(maxDiff(page[i].boosted, node[i].boosted), `${node[i].name}: RawBoost 4`).toBeLessThanOrEqual(1e-9);
      // RawBoost changed the signal (the comparison above is not of two copies of the input)
      expect(node[i].boosted.some((v, j) => v !== node[i].samples[j])).toBe(true);
    }
  });

  it('reads weight files lazily over HTTP Range requests and from a Blob, as Node reads them from disk', async () => {
    const tab = await browser!.newPage();
    const problems = recordPageProblems(tab);
    await tab.goto(server!.url);
    await tab.waitForFunction(() => 'runIoCheck' in window, undefined, { timeout: 30_000 });
    const ranged: string[] = [];
    tab.on('request', (r) => {
      const range = r.headers()['range'];
      if (range) ranged.push(`${r.url().split('/').pop()} ${range}`);
    });
    for (const f of WEIGHT_FILES) {
      const src = await fileSource(join(REPO, f));
      let node: IoCheckTensor[];
      try {
        node = await summariseCheckpoint(src);
      } finally {
        await src.close();
      }
      const base = f.split('/').pop()!;
      const page = (await tab.evaluate(async (url) => {
        const run = (window as unknown as { runIoCheck: (u: string) => Promise<{ range: IoCheckTensor[]; blob: IoCheckTensor[]; size: number }> }).runIoCheck;
        return run(url);
      }, `${server!.url.replace(/\/$/, '')}/${base}`)) as { range: IoCheckTensor[]; blob: IoCheckTensor[]; size: number };
      expect(node.length, f).toBeGreaterThan(10);
      expect(page.size).toBe((await readFile(join(REPO, f))).length);
      expect(page.range, `${f} over Range requests`).toEqual(node);
      expect(page.blob, `${f} from a Blob`).toEqual(node);
    }
    // lazily: a header read, then one request per tensor, never the whole file at once
    for (const f of WEIGHT_FILES) expect(ranged.filter((r) => r.startsWith(f.split('/').pop()!)).length, f).toBeGreaterThan(10);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('runs the detector (XLS-R → Nes2Net-LA) in the page with the logits Node gives', async () => {
    const lengths = [4000, 6401];
    await initEngine(undefined, { quiet: true });
    const src = await fileSource(join(REPO, 'test/fixtures/nes2net', DETECTOR));
    let node: number[][];
    try {
      node = await detectorLogits(src, lengths);
    } finally {
      await src.close();
    }
    const tab = await browser!.newPage();
    const problems = recordPageProblems(tab);
    await tab.goto(server!.url);
    await tab.waitForFunction(() => 'modelCheck' in window, undefined, { timeout: 30_000 });
    const page = (await tab.evaluate(
      async ({ url, lengths }) => {
        type M = typeof import('../../web/model-check.ts');
        const m = (window as unknown as { modelCheck: M }).modelCheck;
        await m.initBrowserEngine();
        return m.detectorLogits(await m.urlSource(url), lengths);
      },
      { url: `${server!.url.replace(/\/$/, '')}/${DETECTOR}`, lengths },
    )) as number[][];
    expect(problems, problems.join('\n')).toEqual([]);
    expect(node.length).toBe(2);
    expect(node[0]).not.toEqual(node[1]);
    // Same SwiftShader on both sides: the same kernels, so equal to float32 rounding.
    for (let i = 0; i < node.length; i++) for (let j = 0; j < node[i].length; j++) expect(page[i][j]).toBeCloseTo(node[i][j], 5);
  });
});
