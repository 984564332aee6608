// The spoofscan page (web/index.html) end to end in headless Chromium, driven through its own controls: the default
// detector and tracer load from their URLs (streamed, then kept in the Cache API), two clips of data/mini go in
// through the file input, and the scores and tracer probabilities read from the DOM equal what Node gives
// (`spoofscan score` for the detector, traceClip for the tracer). Fine-tuning 3 steps in the page gives Node's
// losses; the downloaded weights load in Node (`spoofscan score`) and score like Node's own fine-tuned detector.
// A reload downloads nothing; a page without navigator.gpu says what to do. Uses models/pretrained/*.safetensors
// when committed, else seeded stand-ins (models/demo.ts). Screenshots go to test-output/ for a person to look at.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { initEngine, type Engine } from '../../engine/node.ts';
import { scoreClip } from '../../inference/detect.ts';
import { HeadFineTuner, type FineTuneClip } from '../../inference/finetune.ts';
import { traceClip } from '../../inference/trace.ts';
import { standinFiles } from '../../models/demo.ts';
import { Detector } from '../../models/detector.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { readModelInfo } from '../../models/model-info.ts';
import { TracingModel } from '../../models/tracer/tracing-model.ts';
import { loadAudio } from '../../train/data/decode.ts';
import type { ScoreRow } from '../../cli/commands/score.ts';
import { MODEL_URLS, pretrainedModels, startWeb, type ModelSlot } from '../../web/serve-lib.mjs';
import type { WebBuild } from '../../web/build.mjs';
import type { StaticServer } from '../../web/static-server.mjs';
import { launchChromium, recordPageProblems, requireChromium } from './chromium.ts';

const run = promisify(execFile);
const REPO = new URL('../../', import.meta.url).pathname;
const SHOTS = join(REPO, 'test-output');
const CLIPS = [
  { path: 'data/mini/bonafide/agent-incorrect.flac', name: 'bonafide-agent-incorrect.flac', label: 1 as const },
  { path: 'data/mini/flite-slt/agent-incorrect.flac', name: 'flite-slt-agent-incorrect.flac', label: 0 as const },
];
const TOL = 1e-5;
const SLOW = 240_000;

let workDir = '';
let server: StaticServer;
let bundle: WebBuild;
let models: Record<ModelSlot, string>;
let standins = false;
let browser: Browser | null = null;
let context: BrowserContext;
let page: Page;
let problems: string[] = [];
let engine: Engine | null = null;
let adapterChoice: 'swiftshader' | 'auto' = 'auto';
const requests: { method: string; path: string }[] = [];
const clipFiles = CLIPS.map((c) => ({ name: c.name, mimeType: 'audio/flac', buffer: readFileSync(join(REPO, c.path)) }));
let clipSamples: Float32Array[] = [];

const modelGets = (slot: ModelSlot) => requests.filter((r) => r.method === 'GET' && r.path === MODEL_URLS[slot]).length;
const maxDiff = (a: readonly number[], b: readonly number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** `spoofscan score --crop windows --json` in a child process, on the adapter the browser uses. */
async function cliScores(model: string): Promise<ScoreRow[]> {
  const paths = CLIPS.map((c) => join(REPO, c.path));
  const { stdout } = await run(process.execPath, [join(REPO, 'bin/spoofscan.mjs'), 'score', '--model', model, '--crop', 'windows', '--json', ...paths], {
    cwd: REPO,
    env: { ...process.env, SPOOFSCAN_ADAPTER: adapterChoice, SPOOFSCAN_QUIET: '1' },
    maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout) as ScoreRow[];
}

async function waitReady(p: Page, slots: readonly ModelSlot[]): Promise<void> {
  await p.waitForFunction(() => document.body.dataset.state !== 'starting', undefined, { timeout: 60_000 });
  const state = await p.evaluate(() => ({ state: window.spoofscanApp.state, error: window.spoofscanApp.error }));
  if (state.state !== 'ready') throw new Error(`the page did not start: ${state.error}\n${problems.join('\n')}`);
  for (const s of slots) await p.waitForSelector(`#warmup-${s}[data-ready]`, { timeout: SLOW });
}

beforeAll(async () => {
  requireChromium();
  mkdirSync(SHOTS, { recursive: true });
  workDir = await mkdtemp(join(tmpdir(), 'spoofscan-app-'));
  const committed = pretrainedModels();
  if (committed.detect && committed.trace) models = { detect: committed.detect, trace: committed.trace };
  else {
    // Stand-ins until the demo models are committed: host values, the same on any adapter.
    standins = true;
    engine = await initEngine(undefined, { quiet: true });
    const f = await standinFiles();
    models = { detect: committed.detect ?? join(workDir, 'detector.safetensors'), trace: committed.trace ?? join(workDir, 'tracer.safetensors') };
    if (!committed.detect) writeFileSync(models.detect, f.detector);
    if (!committed.trace) writeFileSync(models.trace, f.tracer);
  }
  const started = await startWeb({ outdir: join(workDir, 'dist'), models, onRequest: (r) => requests.push({ method: r.method, path: r.path }) });
  server = started.server;
  bundle = started.bundle;
  browser = await launchChromium();
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  problems = recordPageProblems(page);
  for (const c of CLIPS) clipSamples.push((await loadAudio(new Uint8Array(readFileSync(join(REPO, c.path))), c.path)).samples);
}, SLOW);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  engine?.destroy();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('the spoofscan page', () => {
  it('bundles the UI and its worker without Node-only modules', () => {
    const sizes = Object.fromEntries(bundle.files.map((f) => [f.path.split('/').pop()!, f.bytes]));
    console.log(`bundles: app.js ${(sizes['app.js'] / 1024).toFixed(1)} KiB, app-worker.js ${(sizes['app-worker.js'] / 1024).toFixed(1)} KiB (${standins ? 'stand-in' : 'committed'} models)`);
    expect(sizes['app.js']).toBeGreaterThan(0);
    expect(sizes['app-worker.js']).toBeGreaterThan(0);
    for (const f of ['web/app.ts', 'web/app-worker.ts', 'inference/finetune.ts', 'inference/detect.ts', 'inference/trace.ts', 'models/export.ts', 'train/data/decode.ts']) expect(bundle.inputs).toContain(f);
    expect(bundle.inputs.filter((p) => /\.node\.ts$|^engine\/node\.ts$|node_modules\/webgpu\//.test(p))).toEqual([]);
  });

  it('loads the default models, scores and traces two clips from the file input as Node does', async () => {
    const t0 = performance.now();
    await page.goto(server.url);
    await waitReady(page, ['detect', 'trace']);
    const adapter = await page.evaluate(() => window.spoofscanApp.adapter ?? '');
    adapterChoice = /swiftshader/i.test(adapter) ? 'swiftshader' : 'auto';
    expect(modelGets('detect')).toBe(1);
    expect(modelGets('trace')).toBe(1);
    await expect.poll(() => page.textContent('#card-detect')).toMatch(standins ? /UNTRAINED/ : /./);
    await page.setInputFiles('#audio-files', clipFiles);
    await page.waitForFunction((n) => document.querySelectorAll('#results tr[data-state="done"]').length === n, CLIPS.length, { timeout: SLOW });
    const rows = await page.$$eval('#results tr[data-file]', (trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })));
    const pageMs = performance.now() - t0;
    await page.screenshot({ path: join(SHOTS, 'page-scored.png'), fullPage: true });
    expect(problems, problems.join('\n')).toEqual([]);

    const t1 = performance.now();
    const cli = await cliScores(models.detect);
    engine?.destroy();
    engine = await initEngine(adapterChoice, { quiet: true });
    const src = await fileSource(models.trace);
    const { model: tracer, weights } = await TracingModel.open(src);
    await src.close();
    const info = readModelInfo(weights.metadata ?? undefined, weights.file);
    const traces = [];
    try {
      for (const x of clipSamples) traces.push(await traceClip(tracer, x, { crop: 'windows', threshold: info.threshold ?? 0.5, names: info.classes, top: 3 }));
    } finally {
      tracer.dispose();
    }
    let scoreDiff = 0;
    let probDiff = 0;
    for (const [i, c] of CLIPS.entries()) {
      const row = rows.find((r) => r.file === c.name)!;
      expect(row, c.name).toBeDefined();
      scoreDiff = Math.max(scoreDiff, Math.abs(Number(row.score) - cli[i].score));
      const ranked = JSON.parse(row.trace!) as { name: string; prob: number }[];
      expect(ranked.map((r) => r.name)).toEqual(traces[i].ranked.map((r) => r.name));
      probDiff = Math.max(probDiff, maxDiff(ranked.map((r) => r.prob), traces[i].ranked.map((r) => r.prob)));
      expect(row.label).toBe(traces[i].label);
    }
    console.log(`page: models + warm-up + 2 clips in ${(pageMs / 1000).toFixed(1)} s; Node ${((performance.now() - t1) / 1000).toFixed(1)} s; max |score diff| ${scoreDiff.toExponential(2)}, max |tracer prob diff| ${probDiff.toExponential(2)} (${adapter})`);
    // A clip longer than one window gets a score-over-time plot (both clips here last 4.5–5 s: 2 windows).
    expect(cli.map((r) => r.windows)).toEqual([2, 2]);
    expect(await page.locator('#results svg.plot').count()).toBe(cli.filter((r) => r.windows! > 1).length);
    expect(scoreDiff).toBeLessThanOrEqual(TOL);
    expect(probDiff).toBeLessThanOrEqual(TOL);
  }, SLOW);

  it('fine-tunes the head 3 steps with the losses Node computes; the downloaded weights score in Node as Node’s own', async () => {
    await page.setInputFiles('#ft-files', clipFiles);
    for (const [i, c] of CLIPS.entries()) await page.selectOption(`select.ft-label[data-index="${i}"]`, String(c.label));
    await page.fill('#ft-steps', '3');
    await page.click('#ft-run');
    await page.waitForSelector('#ft-curve[data-done]', { timeout: SLOW });
    const pageLosses = JSON.parse((await page.getAttribute('#ft-curve', 'data-losses'))!) as number[];
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ft-download')]);
    const tunedFile = join(workDir, 'detector-finetuned.safetensors');
    await download.saveAs(tunedFile);
    await page.screenshot({ path: join(SHOTS, 'page-finetuned.png'), fullPage: true });
    expect(problems, problems.join('\n')).toEqual([]);

    // Node: the same library call on the same file, clips, seed and learning rate.
    const src = await fileSource(models.detect);
    const { detector } = await Detector.open(src);
    await src.close();
    const clips: FineTuneClip[] = CLIPS.map((c, i) => ({ name: c.name, samples: clipSamples[i], label: c.label }));
    const nodeScores: number[] = [];
    let nodeLosses: number[];
    try {
      const tuner = await HeadFineTuner.prepare(detector, clips, { lr: 1e-3, seed: 1234 });
      for (let s = 0; s < 3; s++) await tuner.step();
      nodeLosses = tuner.losses;
      tuner.dispose();
      for (const x of clipSamples) nodeScores.push((await scoreClip(detector, x, { crop: 'windows' })).score);
    } finally {
      detector.dispose();
    }
    const cli = await cliScores(tunedFile);
    const lossDiff = maxDiff(pageLosses, nodeLosses);
    const tunedDiff = maxDiff(cli.map((r) => r.score), nodeScores);
    console.log(`fine-tune losses page [${pageLosses.map((l) => l.toFixed(6)).join(', ')}], max |diff| vs Node ${lossDiff.toExponential(2)}; downloaded weights in spoofscan score vs Node's fine-tuned detector: max |score diff| ${tunedDiff.toExponential(2)}`);
    expect(pageLosses).toHaveLength(3);
    expect(lossDiff).toBeLessThanOrEqual(TOL);
    expect(pageLosses[2]).not.toBe(pageLosses[0]); // the head did train
    expect(tunedDiff).toBeLessThanOrEqual(TOL);
    const src2 = await fileSource(tunedFile);
    const { weights } = await Detector.open(src2).then((o) => (o.detector.dispose(), o));
    await src2.close();
    const info = readModelInfo(weights.metadata ?? undefined, tunedFile);
    expect(info.task).toBe('detect');
    expect(info.provenance).toMatchObject({ trained: true, note: 'fine-tuned in the browser', steps: 3, seed: 1234 });
    expect(weights.report.unexpected).toEqual([]);
  }, SLOW);

  it('a reload takes the checkpoints from the Cache API; a checkpoint loads from the file picker', async () => {
    await page.reload();
    await waitReady(page, ['detect', 'trace']);
    expect(modelGets('detect')).toBe(1); // still the one download of the first visit
    expect(modelGets('trace')).toBe(1);
    expect(await page.textContent('#card-detect')).toContain('from the browser cache');
    await page.setInputFiles('#model-file', join(workDir, 'detector-finetuned.safetensors'));
    await page.waitForFunction(() => document.querySelector('#card-detect')?.getAttribute('data-loaded') === 'detector-finetuned.safetensors', undefined, { timeout: SLOW });
    await page.waitForSelector('#warmup-detect[data-ready]', { timeout: SLOW });
    expect(await page.textContent('#card-detect [data-provenance]')).toMatch(/trained on 2 user clip/);
    expect(problems, problems.join('\n')).toEqual([]);
  }, SLOW);

  it('without navigator.gpu the page says so and what to do', async () => {
    const tab = await context.newPage();
    await tab.addInitScript(() => {
      Object.defineProperty(Object.getPrototypeOf(navigator), 'gpu', { get: () => undefined, configurable: true });
    });
    const before = requests.length;
    await tab.goto(server.url);
    await tab.waitForFunction(() => document.body.dataset.state === 'no-webgpu', undefined, { timeout: 30_000 });
    const text = await tab.textContent('#gpu-message');
    expect(await tab.isVisible('#gpu-message')).toBe(true);
    expect(text).toContain('navigator.gpu is undefined');
    expect(text).toContain('--enable-unsafe-webgpu');
    expect(requests.slice(before).filter((r) => r.path.startsWith('/models/'))).toEqual([]);
    await tab.screenshot({ path: join(SHOTS, 'page-no-webgpu.png') });
    await tab.close();
  });
});
