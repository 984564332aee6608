// The HTML report: charts carry the metrics' numbers (EER marker where detectionMetrics puts it, histogram and
// confusion counts), text is escaped, nothing is fetched.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { detectionBreakdown, detectionMetrics, tracingMetrics } from '../../train/metrics/index.ts';
import { detChart, detectionSection, probit, renderReport, esc, parseDevTracingScores, bestEpoch } from '../../train/report/index.ts';
import { ATTACKS, CLASSES, detectionData, fullInput, gaussian, tracingData, trainingLog } from './synthetic.ts';

/** Attributes of every element `<tag … class="cls" …>` (class matched as a word). */
function elements(html: string, tag: string, cls: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  const re = new RegExp(`<${tag}\\s([^>]*)>`, 'g');
  for (const m of html.matchAll(re)) {
    const attrs: Record<string, string> = {};
    for (const a of m[1].matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    if ((attrs.class ?? '').split(/\s+/).includes(cls)) out.push(attrs);
  }
  return out;
}

/** rate → pixel from the DET chart's tick table (`data-x="0.001:104.6 0.005:…"`), interpolated in probit space. */
function tickMap(spec: string): (rate: number) => number {
  const pts = spec.split(' ').map((p) => p.split(':').map(Number) as [number, number]);
  const [r0, p0] = pts[0];
  const [r1, p1] = pts[pts.length - 1];
  return (r) => p0 + ((probit(r) - probit(r0)) / (probit(r1) - probit(r0))) * (p1 - p0);
}

describe('probit', () => {
  it('matches reference normal quantiles', () => {
    expect(probit(0.5)).toBe(0);
    expect(probit(0.975)).toBeCloseTo(1.959963984540054, 7);
    expect(probit(0.001)).toBeCloseTo(-3.090232306167813, 7);
    expect(probit(0.4)).toBeCloseTo(-0.2533471031357997, 7);
    expect(probit(1e-6)).toBeCloseTo(-4.753424308822899, 7);
    expect(probit(0.999)).toBeCloseTo(3.090232306167813, 7);
    expect(probit(0)).toBe(-Infinity);
  });
});

describe('DET chart', () => {
  it('marks each EER at (EER, EER) on the probit axes, as the metrics compute it', () => {
    const d = detectionData(3);
    const html = detectionSection({ name: 'dev', ...d, unseen: ['xttsv2'] });
    const bd = detectionBreakdown(d.bonafide, d.spoof, d.spoofGroups, { unseen: ['xttsv2'] });
    const ticks = elements(html, 'g', 'det-ticks')[0];
    const x = tickMap(ticks['data-x']);
    const y = tickMap(ticks['data-y']);
    const markers = elements(html, 'circle', 'eer-marker');
    expect(markers.map((m) => m['data-series'])).toEqual(['overall', 'seen', 'unseen']);
    const want = { overall: bd.overall.eer, seen: bd.seen!.eer, unseen: bd.unseen!.eer };
    for (const m of markers) {
      const eer = want[m['data-series'] as keyof typeof want];
      expect(Number(m['data-eer'])).toBe(eer);
      expect(Math.abs(Number(m.cx) - x(eer))).toBeLessThanOrEqual(0.11);
      expect(Math.abs(Number(m.cy) - y(eer))).toBeLessThanOrEqual(0.11);
    }
    // ticks at 0.1, 0.5, 1, 2, 5, 10, 20, 40 %; FAR grows to the right, FRR upwards
    expect(ticks['data-x'].split(' ').map((t) => Number(t.split(':')[0])).slice(0, 8)).toEqual([0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4]);
    expect(x(0.1)).toBeGreaterThan(x(0.01));
    expect(y(0.1)).toBeLessThan(y(0.01));
    // the metrics table says the same EER
    expect(html).toContain(`${(bd.overall.eer * 100).toFixed(2)} %`);
  });

  it('widens the axes when the EER is above 40 %, and handles EER 0', () => {
    const g = gaussian(5);
    const bonafide = Array.from({ length: 50 }, () => g());
    const spoof = Array.from({ length: 50 }, () => 0.3 + g()); // worse than chance
    const m = detectionMetrics(bonafide, spoof);
    expect(m.eer).toBeGreaterThan(0.4);
    const svg = detChart([{ label: 'bad', bonafide, spoof, metrics: m }]);
    const [mk] = elements(svg, 'circle', 'eer-marker');
    const x = tickMap(elements(svg, 'g', 'det-ticks')[0]['data-x']);
    expect(Math.abs(Number(mk.cx) - x(m.eer))).toBeLessThanOrEqual(0.11);
    expect(Number(mk.cx)).toBeLessThan(480 - 16);

    const perfect = detectionMetrics([2, 3, 4], [-1, 0, 1]);
    expect(perfect.eer).toBe(0);
    const svg0 = detChart([{ label: 'perfect', bonafide: [2, 3, 4], spoof: [-1, 0, 1], metrics: perfect }]);
    const [m0] = elements(svg0, 'circle', 'eer-marker');
    expect(Number.isFinite(Number(m0.cx)) && Number.isFinite(Number(m0.cy))).toBe(true);
    expect(svg0).not.toMatch(/NaN|Infinity/);
  });
});

describe('histograms and per-attack bars', () => {
  it('one panel for all spoof and one per attack, with the right counts and the EER threshold', () => {
    const d = detectionData(4);
    const html = detectionSection({ name: 'dev', ...d, unseen: ['xttsv2'] });
    const bd = detectionBreakdown(d.bonafide, d.spoof, d.spoofGroups, { unseen: ['xttsv2'] });
    const classes = elements(html, 'g', 'hist-class');
    expect(classes.length).toBe(2 * (1 + ATTACKS.length));
    const sum = (c: Record<string, string>) => c['data-counts'].split(',').reduce((a, b) => a + Number(b), 0);
    for (const c of classes) expect(sum(c)).toBe(Number(c['data-n']));
    const byLabel = new Map(classes.map((c) => [c['data-label'], Number(c['data-n'])]));
    expect(byLabel.get('bona fide')).toBe(d.bonafide.length);
    expect(byLabel.get('spoof')).toBe(d.spoof.length);
    for (const a of ATTACKS) expect(byLabel.get(a.name)).toBe(a.n);
    for (const t of elements(html, 'g', 'threshold')) expect(Number(t['data-threshold'])).toBe(bd.overall.eerThreshold);

    const bars = elements(html, 'g', 'bar');
    expect(bars.map((b) => b['data-group'])).toEqual(Object.keys(bd.perGroup));
    for (const b of bars) {
      expect(Number(b['data-eer'])).toBe(bd.perGroup[b['data-group']].eer);
      expect(b['data-unseen']).toBe(String(b['data-group'] === 'xttsv2'));
    }
  });
});

describe('tracing', () => {
  it('confusion matrix with the unseen row and column, counts in the cells, per-class table', () => {
    const t = tracingData();
    const m = tracingMetrics(t.truth, t.predicted, CLASSES.length);
    const html = renderReport({ title: 'x', tracing: [{ name: 'dev', classNames: CLASSES, ...t, threshold: 0.5 }] });
    const cells = elements(html, 'g', 'cell');
    const K = CLASSES.length;
    expect(cells.length).toBe((K + 1) ** 2);
    for (const c of cells) expect(Number(c['data-count'])).toBe(m.confusion[Number(c['data-row'])][Number(c['data-col'])]);
    expect(cells.reduce((a, c) => a + Number(c['data-count']), 0)).toBe(t.truth.length);
    expect(html).toMatch(/font-style="italic"[^>]*>unseen</);
    expect(html).toContain(`<td>${m.macro.f1.toFixed(3)}</td>`);
    for (const name of CLASSES) expect(html).toContain(`<td class="l">${name}</td>`);
  });

  it('reads a dev tracing score file by class name (τ from the header)', () => {
    const p = parseDevTracingScores('# tracing: path top_prob truth predicted (tau=0.63)\na/x.wav 0.9 b unseen\na/y.wav 0.8 unseen a\n', 'f', null);
    expect(p).toMatchObject({ classNames: ['a', 'b'], truth: [1, 2], predicted: [2, 0], threshold: 0.63 });
  });
});

describe('training curves', () => {
  it('loss per step and dev metric per epoch', () => {
    const log = trainingLog('eer', 5, 10);
    const html = renderReport({ title: 't', training: [{ name: 'run', log }] });
    expect(Number(elements(html, 'polyline', 'loss-steps')[0]['data-n'])).toBe(50);
    expect(Number(elements(html, 'polyline', 'dev-metric')[0]['data-n'])).toBe(5);
    expect(html).toContain('Dev EER per epoch');
    expect(bestEpoch(log)?.epoch).toBe(5);
    const f1 = renderReport({ title: 't', training: [{ name: 'run', log: trainingLog('macroF1', 3, 4) }] });
    expect(f1).toContain('dev macro-F1');
  });
});

describe('the page', () => {
  it('escapes all text and is self-contained', () => {
    const input = fullInput();
    input.tracing = [{ ...input.tracing![0], classNames: ['a"b', '<i>x</i>', 'c&d', 'openai', 'polly'] }];
    input.detection = [{ ...input.detection![0], spoofGroups: input.detection![0].spoofGroups!.map((g) => (g === 'gtts' ? '<img src=x onerror=alert(1)>' : g)) }];
    const html = renderReport(input);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<i>x/);
    expect(html).toContain('clips/&lt;script&gt;alert(1)&lt;/script&gt;.wav');
    expect(html).toContain('spoofscan report &lt;test&gt;');
    expect(html).toContain('a&quot;b');
    expect(html).toContain('c&amp;d');
    // nothing to fetch: no src/href attributes, no URL other than the SVG namespace and local clip paths
    expect(html.replace(/"[^"]*"/g, '""')).not.toMatch(/<[^>]*\s(src|href)=/);
    const urls = [...html.matchAll(/https?:\/\/[^\s"')]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
    expect(html).not.toMatch(/NaN|undefined/);
    expect(esc(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&#39;');
  });

  it('an empty input still renders', () => {
    expect(renderReport({ title: 'empty' })).toContain('Nothing to show');
  });
});

describe('browser safety', () => {
  const reportDir = fileURLToPath(new URL('../../train/report/', import.meta.url));
  it('no Node-only import or global in train/report/', () => {
    for (const f of readdirSync(reportDir).filter((n) => n.endsWith('.ts'))) {
      const code = readFileSync(join(reportDir, f), 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
      expect(code, f).not.toMatch(/from '(node:|fs|path|os|url|zlib|child_process|worker_threads)/);
      expect(code, f).not.toMatch(/\b(Buffer|process|require|__dirname)\b/);
      // the trainer (engine, kernels) is only used for its types
      expect(code, f).not.toMatch(/^import \{[^}]*\} from '\.\.\/trainer\.ts'/m);
    }
  });
  it('train/report/index.ts bundles for the browser without the engine', async () => {
    const r = await build({ entryPoints: [join(reportDir, 'index.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    expect(r.errors).toEqual([]);
    expect(r.outputFiles[0].text).toContain('renderReport');
    expect(r.outputFiles[0].text).not.toContain('GPUBufferUsage');
  });
});
