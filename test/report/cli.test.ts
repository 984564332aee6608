// `spoofscan report DIR` on synthetic training directories, and `spoofscan eval --report`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectionMetrics, tracingMetrics } from '../../train/metrics/index.ts';
import { CLASSES, detectionData, tracingData, writeRunDir } from './synthetic.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'spoofscan-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/spoofscan.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const attr = (html: string, re: RegExp) => [...html.matchAll(re)].map((m) => m[1]);

describe('spoofscan report DIR', () => {
  it('detection run: DET with the EER of the best epoch’s dev scores, histograms, training curves', () => {
    const run = join(dir, 'det-run');
    writeRunDir(run, 'detect');
    writeFileSync(join(run, 'report.html'), 'old');
    const r = cli('report', run);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('report.html');
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    // the best epoch is 6 (see trainingLog): its scores, not epoch 1's decoy
    const d = detectionData(6);
    const m = detectionMetrics(d.bonafide, d.spoof);
    expect(attr(html, /class="eer-marker" data-series="overall" data-eer="([^"]+)"/g).map(Number)).toEqual([m.eer]);
    expect(html).toContain('best dev epoch 6');
    expect(attr(html, /class="hist-class" data-label="([^"]+)"/g)).toContain('espeak-ng');
    expect(html).toContain('class="loss-steps"');
    expect(html).toContain('Dev EER per epoch');
    expect(readdirSync(run).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('tracing run: confusion matrix by the config’s class names, τ from the score file', () => {
    const run = join(dir, 'trace-run');
    writeRunDir(run, 'trace');
    const out = join(dir, 'trace.html');
    const r = cli('report', run, '--out', out);
    expect(r.status).toBe(0);
    const html = readFileSync(out, 'utf8');
    const t = tracingData();
    const m = tracingMetrics(t.truth, t.predicted, CLASSES.length);
    const counts = attr(html, /class="cell" data-row="\d+" data-col="\d+" data-count="(\d+)"/g).map(Number);
    expect(counts).toEqual(m.confusion.flat());
    expect(html).toContain('<td>0.630</td>');
    expect(html).toContain('Dev macro-F1 per epoch');
    expect(existsSync(join(run, 'report.html'))).toBe(false);
  });

  it('errors: not a training directory, bad log line', () => {
    let r = cli('report', join(dir, 'nope'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not a training directory: .*config\.json is missing/);
    const run = join(dir, 'bad-run');
    writeRunDir(run, 'detect');
    writeFileSync(join(run, 'log.jsonl'), '{"type":"step","step":1,"epoch":1,"loss":0.5}\n{oops\n');
    r = cli('report', run);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/log\.jsonl:2: not JSON/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    r = cli('report');
    expect(r.status).toBe(1);
  });
});

describe('spoofscan eval --report', () => {
  it('writes the report next to the usual output (JSON on stdout unchanged)', () => {
    const d = detectionData(2);
    const scores = join(dir, 'scores.txt');
    writeFileSync(scores, d.paths.map((p) => `${p.path} ${p.score} ${p.label}`).join('\n') + '\n');
    const out = join(dir, 'eval.html');
    const r = cli('eval', '--scores', scores, '--unseen-groups', 'xttsv2', '--report', out, '--json');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    const html = readFileSync(out, 'utf8');
    expect(attr(html, /class="eer-marker" data-series="(\w+)" data-eer="([^"]+)"/g)).toEqual(['overall', 'seen', 'unseen']);
    expect(Number(attr(html, /data-series="overall" data-eer="([^"]+)"/g)[0])).toBe(j.eer);
    expect(Number(attr(html, /data-series="unseen" data-eer="([^"]+)"/g)[0])).toBe(j.unseen.eer);
    expect(r.stderr).toContain(`wrote ${out}`);
  });
});
