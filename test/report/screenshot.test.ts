// A headless-Chromium screenshot of a full report, for a person to look at: test-output/report.png (git-ignored),
// next to the page itself (test-output/report.html).
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderReport } from '../../train/report/index.ts';
import { launchChromium, recordPageProblems } from '../browser/chromium.ts';
import { fullInput } from './synthetic.ts';

const OUT = resolve(import.meta.dirname, '../../test-output');

describe('report in a browser', () => {
  it('renders every chart without errors or network requests; writes test-output/report.png', async () => {
    mkdirSync(OUT, { recursive: true });
    const htmlPath = join(OUT, 'report.html');
    writeFileSync(htmlPath, renderReport(fullInput()));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const problems = recordPageProblems(page);
      const requests: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await page.goto(pathToFileURL(htmlPath).href);
      const charts = await page.evaluate(() =>
        Array.from(document.querySelectorAll('svg.chart')).map((s) => {
          const b = s.getBoundingClientRect();
          return { cls: s.getAttribute('class'), w: b.width, h: b.height };
        }),
      );
      expect(charts.map((c) => c.cls)).toEqual(expect.arrayContaining(['chart det', 'chart bars', 'chart hist', 'chart confusion', 'chart loss', 'chart dev']));
      for (const c of charts) expect(c.w > 100 && c.h > 100).toBe(true);
      // the page is no wider than the window (nothing overflows sideways)
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1200);
      await page.screenshot({ path: join(OUT, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
    expect(statSync(join(OUT, 'report.png')).size).toBeGreaterThan(50_000);
  });
});
