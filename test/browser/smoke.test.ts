// Browser smoke test: bundles the engine with esbuild, serves the smoke page on 127.0.0.1, runs
// web/smoke-suite.ts in headless Chromium (WebGPU on SwiftShader where there is no GPU) and checks
// the results against the same suite run here in Node through Dawn.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { buildWeb, type WebBuild } from '../../web/build.mjs';
import { startStaticServer, type StaticServer } from '../../web/static-server.mjs';
import { compareSmokeResults, runSmokeSuite, type SmokeResults } from '../../web/smoke-suite.ts';
import type { SmokeOutcome } from '../../web/smoke.ts';
import { DROPOUT_CASE } from '../../web/smoke-nn.ts';
import { dropoutMaskHost } from '../../kernels/dropout.ts';
import { describeAdapter, initEngine, type AdapterSummary } from '../../engine/node.ts';
// The engine does not import kernels: loading them registers the self-check initEngine runs and gradient accumulation.
import '../../kernels/index.ts';
import { launchChromium, recordPageProblems, requireChromium } from './chromium.ts';

const WEB_DIR = new URL('../../web/', import.meta.url).pathname;
const PAGE_TIMEOUT_MS = 90_000;

let workDir = '';
let bundle: WebBuild;
let server: StaticServer | null = null;
let browser: Browser | null = null;
let page: { outcome: SmokeOutcome; problems: string[]; ms: number };

beforeAll(async () => {
  requireChromium();
  const t0 = performance.now();
  // A private copy of the page keeps parallel runs from overwriting each other's web/dist/.
  workDir = await mkdtemp(join(tmpdir(), 'spoofscan-web-'));
  await copyFile(join(WEB_DIR, 'smoke.html'), join(workDir, 'index.html'));
  bundle = await buildWeb({ outdir: join(workDir, 'dist') });
  server = await startStaticServer(workDir, { host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
  const tab = await browser.newPage();
  const problems = recordPageProblems(tab);
  await tab.goto(server.url);
  await tab.waitForFunction(() => window.spoofscanSmoke && window.spoofscanSmoke.status !== 'running', undefined, {
    timeout: PAGE_TIMEOUT_MS,
  });
  const outcome = await tab.evaluate(() => window.spoofscanSmoke);
  page = { outcome, problems, ms: Math.round(performance.now() - t0) };
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function pageResult(): { adapter: AdapterSummary; results: SmokeResults; ms: number } {
  const o = page.outcome;
  if (o.status !== 'done') {
    const why = o.status === 'error' ? o.error : 'still running';
    throw new Error(`the smoke page failed: ${why}\npage problems:\n  ${page.problems.join('\n  ') || '(none)'}`);
  }
  return o;
}

/** One case per kernel family; a missing one means the suite silently stopped covering it. */
const REQUIRED_CASES = [
  'add.broadcast', 'sum.axis1', 'softmax', 'matmul.transAB', 'permute', 'grad.w1',
  'conv1d.s2p1d2g2.grad.w', 'conv1d.depthwise.grad.x', 'conv1d.posconv.grad.g', 'conv1d.posconv.grad.v',
  'layerNorm.last.grad.x', 'layerNorm.channels.grad.w', 'groupNorm.g3.grad.x', 'batchNorm.train.grad.x', 'batchNorm.train.runningVar',
  'batchNorm.eval.grad.x', 'act.gelu.grad.x', 'act.selu.grad.x', 'dropout.grad.x',
  'crossEntropy.weighted.grad.logits', 'pool.astp.grad.logits', 'attention.keyPadding.grad.k',
  'localAttention.clamp.w5d2.grad.bias', 'localAttention.mask.w4d3.grad.v',
  'optim.adam.w', 'optim.adamw.w', 'optim.sgdMomentum.w',
];

describe('browser bundle', () => {
  it('bundles the shared engine and kernels, and nothing Node-only', () => {
    expect(bundle.files.map((f) => f.path.slice(bundle.outdir.length + 1)).sort()).toEqual(['app-worker.js', 'app.js', 'smoke.js', 'spoofscan.js']);
    expect(bundle.inputs).toContain('engine/index.ts');
    expect(bundle.inputs).toContain('kernels/index.ts');
    const nodeOnly = bundle.inputs.filter((p) => /\.node\.ts$|^engine\/node\.ts$|node_modules\/webgpu\//.test(p));
    expect(nodeOnly).toEqual([]);
  });
});

describe('engine in headless Chromium', () => {
  it('runs on a WebGPU adapter reached through navigator.gpu', () => {
    const { adapter, ms } = pageResult();
    console.log(`browser: ${describeAdapter(adapter)}; page ready in ${page.ms} ms (suite ${ms} ms)`);
    expect(adapter.kind).toBe('browser');
    expect(adapter.vendor).not.toBe('');
    expect(adapter.features).toEqual([...adapter.features].sort());
    expect(adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('gives the same outputs as Node on the same adapter family', async () => {
    const browserSide = pageResult();
    // Chromium without a GPU uses SwiftShader: pin Node to it too so both run the same kernels.
    const choice = browserSide.adapter.architecture === 'swiftshader' ? 'swiftshader' : 'auto';
    const engine = await initEngine(choice, { quiet: true });
    try {
      console.log(`node:    ${engine.describe()}`);
      expect(engine.adapter.vendor).toBe(browserSide.adapter.vendor);
      expect(engine.adapter.architecture).toBe(browserSide.adapter.architecture);
      expect(engine.adapter.isCpu).toBe(browserSide.adapter.isCpu);
      const t0 = performance.now();
      const nodeSide = await runSmokeSuite();
      const { mismatches, maxAbsDiff, toleranceUsed } = compareSmokeResults(nodeSide, browserSide.results, 1e-5, 1e-6);
      const names = Object.keys(nodeSide);
      console.log(`${names.length} cases; Node suite ${Math.round(performance.now() - t0)} ms; largest |difference| ${maxAbsDiff.toExponential(2)} (${(100 * toleranceUsed).toFixed(1)}% of the 1e-5 relative tolerance)`);
      expect(mismatches).toEqual([]);
      // The suite must really cover the op families the browser is meant to prove (forward and backward).
      for (const name of REQUIRED_CASES) expect(names, `case '${name}' is missing`).toContain(name);
      // A backward pass that produced all-zero gradients would compare equal and prove nothing.
      const gradNames = names.filter((n) => /(^|\.)grad\./.test(n));
      expect(gradNames.length).toBeGreaterThanOrEqual(40);
      for (const g of gradNames) {
        expect(nodeSide[g].values.some((v) => Math.abs(v) > 1e-4), `${g} is all zeros`).toBe(true);
      }
    } finally {
      engine.destroy();
    }
  });

  it('draws the same dropout mask in the browser as the host mirror of the counter RNG', () => {
    const { results } = pageResult();
    const y = results[DROPOUT_CASE.name];
    const keep = dropoutMaskHost(y.values.length, DROPOUT_CASE.seed, DROPOUT_CASE.p);
    // the input is randn (never exactly 0), so an output of 0 means a dropped element
    const kept = y.values.map((v) => (v === 0 ? 0 : 1));
    expect(kept).toEqual([...keep]);
    const dropped = kept.filter((v) => v === 0).length / kept.length;
    expect(dropped).toBeGreaterThan(0.15);
    expect(dropped).toBeLessThan(0.45);
  });
});
