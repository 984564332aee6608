// The demo's code path end to end on a shortened schedule (--quick): both models trained and selected on dev,
// eval scored once, the tables and example verdicts printed, and a report whose DET curve marks the EER the
// metrics give, with the histograms and the confusion matrix; a headless-Chromium screenshot of the report is
// written to test-output/demo-report.png for a person to look at.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.ts';
import { launchChromium, recordPageProblems } from '../browser/chromium.ts';
import { useEngine } from '../helpers/engine.ts';
import { tempDir } from './mini-lists.ts';

// End-to-end training runs take 40–240 s on a quiet 2-core machine; give them room when the cores are shared.
vi.setConfig({ testTimeout: 600_000 });

useEngine();

const OUT = resolve(import.meta.dirname, '../../test-output');

describe('spoofscan demo --quick', () => {
  it('trains, evaluates and reports end to end', async () => {
    const dir = join(tempDir('demo'), 'demo-out');
    const out: string[] = [];
    const o = console.log;
    const e = console.error;
    const w = process.stderr.write.bind(process.stderr);
    console.log = (...a: unknown[]) => void out.push(a.join(' '));
    console.error = () => undefined;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(['demo', '--quick', '--out', dir]);
    } finally {
      console.log = o;
      console.error = e;
      process.stderr.write = w;
    }
    const text = out.join('\n');
    expect(code).toBe(0);
    expect(text).toMatch(/detection on the eval split: 126 trials, unseen APIs: espeak, festival-slt-hts, flite-rms/);
    expect(text).toMatch(/API tracing on the eval split: 110 spoofed trials, τ = [\d.]+ \(chosen on dev\)/);
    expect(text).toMatch(/example clips:[\s\S]*bonafide\/conf-getpin\.flac/);
    for (const f of ['detector/best.safetensors', 'tracer/best.safetensors', 'eval-scores.txt', 'eval-tracing.txt', 'summary.json', 'report.html']) expect(existsSync(join(dir, f)), f).toBe(true);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { detection: { eer: number }; tracing: { macroF1: number } };

    // The report marks the eval EER on the DET curve, and has the histograms and the confusion matrix.
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    const eers = [...html.matchAll(/class="eer-marker" data-series="([^"]*)" data-eer="([^"]*)"/g)].map((m) => ({ series: m[1], eer: Number(m[2]) }));
    expect(eers.find((x) => /overall/.test(x.series))?.eer).toBeCloseTo(summary.detection.eer, 12);
    expect(html).toMatch(/class="chart hist"/);
    expect(html).toMatch(/class="chart confusion"/);
    expect(html).toMatch(/class="chart loss"/);

    mkdirSync(OUT, { recursive: true });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const problems = recordPageProblems(page);
      await page.goto(pathToFileURL(join(dir, 'report.html')).href);
      await page.screenshot({ path: join(OUT, 'demo-report.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
