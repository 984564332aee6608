// End to end: `node bin/spoofscan.mjs eval|calibrate …` on temporary files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryWarning } from '../../cli/commands/eval.ts';
import { TRACE } from './example-files.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'spoofscan-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/spoofscan.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(...args: string[]): Record<string, any> {
  const r = cli(...args, '--json');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

// spec §7 case D as an ASVspoof 2019 LA protocol: bona fide 2, 1.5, 0.5, −0.3, −1; spoof −3, −2 (A07), −0.5, 0, 1 (A08)
const BONA = [2, 1.5, 0.5, -0.3, -1.0];
const SPOOF = [-3, -2, -0.5, 0, 1];
const protocol = file(
  'LA.cm.eval.trl.txt',
  [...BONA.map((_, i) => `LA_0001 LA_E_b${i} - - bonafide`), ...SPOOF.map((_, i) => `LA_0002 LA_E_s${i} - ${i < 2 ? 'A07' : 'A08'} spoof`)].join('\n') + '\n',
);
const scores = file(
  'scores.txt',
  '# score_type=logit_diff\n' + [...BONA.map((v, i) => `/data/flac/LA_E_b${i}.flac\t${v}`), ...SPOOF.map((v, i) => `/data/flac/LA_E_s${i}.flac\t${v}`)].reverse().join('\n') + '\n',
);

describe('spoofscan eval (detection)', () => {
  it('--json has the documented keys and the spec values', () => {
    const j = json('eval', '--scores', scores, '--protocol', protocol);
    for (const k of ['eer', 'eer_threshold', 'min_dcf', 'act_dcf', 'min_dcf_multiapi', 'act_dcf_multiapi', 'cllr', 'rocch_eer', 'n_bonafide', 'n_spoof', 'per_attack']) {
      expect(j).toHaveProperty(k);
    }
    expect(j).toMatchObject({ task: 'detect', protocol_format: 'asvspoof2019-la', id_match: 'path-tail-stem', score_type: 'logit_diff', calibrated: false });
    expect(j.n_bonafide).toBe(5);
    expect(j.n_spoof).toBe(5);
    expect(j.eer).toBeCloseTo(0.4, 12);
    expect(j.eer_threshold).toBeCloseTo(-0.3, 12);
    expect(j.rocch_eer).toBeCloseTo(0.3, 12);
    expect(j.min_dcf).toBeCloseTo(0.6, 12);
    expect(j.act_dcf).toBeCloseTo(0.98, 12);
    expect(j.min_dcf_multiapi).toBeCloseTo(0.3, 12);
    expect(j.act_dcf_multiapi).toBeCloseTo(0.39, 12);
    expect(j.cllr).toBeCloseTo(0.81165, 4);
    expect(Object.keys(j.per_attack)).toEqual(['A07', 'A08']);
    expect(j.per_attack.A07).toMatchObject({ n_bonafide: 5, n_spoof: 2, eer: 0 });
    expect(j.seen).toBeNull();
  });

  it('prints a readable table by default', () => {
    const r = cli('eval', '--scores', scores, '--protocol', protocol);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/EER \(ASVspoof sweep\)\s+40\.000 %\s+threshold -0\.3000/);
    expect(r.stdout).toMatch(/minDCF \(ASVspoof 5\)\s+0\.6000/);
    expect(r.stdout).toMatch(/A07\s+2\s+0\.000/);
    expect(r.stdout).toMatch(/overall\s+5\s+40\.000\s+0\.6000\s+0\.9800/);
  });

  it('--unseen FILE and --unseen-groups add seen and unseen pools', () => {
    const unseen = file('unseen.txt', '# unseen attacks\nA08\nA99\n');
    const j = json('eval', '--scores', scores, '--protocol', protocol, '--unseen', unseen);
    expect(j.unseen_groups).toEqual(['A08', 'A99']);
    expect(j.unseen_groups_missing).toEqual(['A99']);
    expect(j.seen).toMatchObject({ n_spoof: 2, eer: 0 });
    expect(j.unseen.n_spoof).toBe(3);
    const k = json('eval', '--scores', scores, '--protocol', protocol, '--unseen-groups', 'A07');
    expect(k.seen.n_spoof).toBe(3);
  });

  it('MultiAPI-Spoof lists: API = parent directory; `multiapi` unseen preset', () => {
    const list = file('multiapi_eval.txt', 'd/real/1.wav bonafide\nd/real/2.wav bonafide\nd/tor/1.wav spoof\nd/elevenlabs/1.wav spoof\n');
    const sc = file('multiapi_scores.txt', 'd/real/1.wav 2 bonafide\nd/real/2.wav 1 bonafide\nd/tor/1.wav 1.5 spoof\nd/elevenlabs/1.wav -1 spoof\n');
    const j = json('eval', '--scores', sc, '--protocol', list, '--unseen-groups', 'multiapi');
    expect(Object.keys(j.per_attack)).toEqual(['elevenlabs', 'tor']);
    expect(j.unseen.n_spoof).toBe(1);
    expect(j.per_attack.tor.eer).toBe(0.75); // sweep points (.5, 1) and (.5, 0) tie on |FRR − FAR|: the first wins
    // the score file labels every trial: the protocol may be left out
    const k = json('eval', '--scores', sc);
    expect(k.eer).toBe(j.eer);
    expect(k.id_match).toBe('score-file-labels');
  });

  it('errors: mismatched ids, duplicates, bad scores, one class empty, missing files', () => {
    const mis = file('mis.txt', 'LA_E_b0 1\nLA_E_x1 2\nLA_E_b1 nan\nLA_E_b0 3\n');
    let r = cli('eval', '--scores', mis, '--protocol', protocol);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/1 line\(s\) have a non-numeric, NaN or infinite score; first: line 3: "LA_E_b1 nan"/);
    expect(r.stderr).toMatch(/1 duplicate id\(s\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const extra = file('extra.txt', 'LA_E_b0 1\nLA_E_x1 2\nLA_E_x2 3\n');
    r = cli('eval', '--scores', extra, '--protocol', protocol);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('2 of 3 score line(s) have an id that is not in the protocol');
    expect(r.stderr).toContain('9 of 10 protocol trial(s) have no score');
    expect(r.stderr).toContain(`${protocol}:2 "LA_E_b1"`);

    const spoofOnly = file('spoofonly.txt', 'S LA_E_s0 - A07 spoof\n');
    r = cli('eval', '--scores', file('s1.txt', 'LA_E_s0 1\n'), '--protocol', spoofOnly);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/one class is empty \(0 bona fide, 1 spoof/);

    r = cli('eval', '--scores', join(dir, 'nope.txt'), '--protocol', protocol);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*nope\.txt: ENOENT/);

    r = cli('eval', '--scores', scores, '--task', 'rank');
    expect(r.stderr).toMatch(/--task must be detect or trace/);
    r = cli('eval', '--scores', scores, '--bogus');
    expect(r.status).toBe(2); // usage error (common/errors.ts)
    expect(r.stderr).toMatch(/Unknown option '--bogus'/);
  });

  it('warns before reading a score file too large for the heap (V8 cannot recover from running out)', () => {
    const GB = 2 ** 30;
    expect(memoryWarning(40 * 2 ** 20, 4 * GB)).toBeNull(); // ~1.2 M trials: fine
    const w = memoryWarning(334 * 2 ** 20, 4 * GB); // the measured 10 M-trial file that ran out at 4 GB
    expect(w).toMatch(/334 MB score file needs about 5 GB .*4\.0 GB.*NODE_OPTIONS=--max-old-space-size=7168/);
    expect(memoryWarning(334 * 2 ** 20, 12 * GB)).toBeNull();
  });

  it('--help', () => {
    const r = cli('eval', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--protocol FILE/);
  });
});

describe('spoofscan calibrate', () => {
  it('fits on dev (spec §7 case D), writes the calibration and calibrated scores; eval uses both', () => {
    const out = join(dir, 'cal.json');
    const calibrated = join(dir, 'llr.txt');
    const r = cli('calibrate', '--scores', scores, '--protocol', protocol, '--out', out, '--write-scores', calibrated, '--json');
    expect(r.status).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.a).toBeCloseTo(0.848327, 6);
    expect(rep.c).toBeCloseTo(0.1106, 6);
    expect(rep.fitted_on.cllr_calibrated).toBeCloseTo(0.80579, 5);
    const cal = JSON.parse(readFileSync(out, 'utf8'));
    expect(cal).toMatchObject({ format: 'spoofscan-calibration', version: 1, prior: 0.5, converged: true });
    expect(cal.a).toBe(rep.a);

    const written = readFileSync(calibrated, 'utf8').split('\n');
    expect(written[0]).toBe('# score_type=llr');
    const first = written.find((l) => l.startsWith('/data/flac/LA_E_s4.flac'))!.split('\t');
    expect(Number(first[1])).toBeCloseTo(cal.a * 1 + cal.c, 12);

    const viaFile = json('eval', '--scores', scores, '--protocol', protocol, '--calibration', out);
    expect(viaFile.calibrated).toBe(true);
    expect(viaFile.cllr).toBeCloseTo(0.80579, 5);
    expect(viaFile.eer).toBeCloseTo(0.4, 12); // EER stays on the raw scores
    const viaScores = json('eval', '--scores', calibrated, '--protocol', protocol);
    expect(viaScores.score_type).toBe('llr');
    expect(viaScores.calibrated).toBe(true);
    expect(viaScores.cllr).toBeCloseTo(viaFile.cllr, 12);
    expect(viaScores.act_dcf).toBe(viaFile.act_dcf);
  });

  it('--prior asvspoof5, and applying a saved calibration to another file', () => {
    const rep = json('calibrate', '--scores', scores, '--protocol', protocol, '--prior', 'asvspoof5');
    expect(rep.a).toBeCloseTo(0.876663, 6);
    expect(rep.c).toBeCloseTo(0.124876, 6);
    const cal = file('cal2.json', JSON.stringify({ a: 2, c: -1 }));
    const test = file('test.tsv', 'filename\tcm-score\nE_1\t0.5\nE_2\t-1\n');
    const out = join(dir, 'test.llr.tsv');
    const r = cli('calibrate', '--calibration', cal, '--apply', test, '--write-scores', out);
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('filename\tcm-score\nE_1\t0\nE_2\t-3\n');
  });

  it('errors: bad prior, bad calibration file, separable dev data warns', () => {
    let r = cli('calibrate', '--scores', scores, '--protocol', protocol, '--prior', '1.5');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/prior must be a number in \(0, 1\)/);
    r = cli('calibrate', '--calibration', file('bad.json', '{"a": "x"}'), '--apply', scores, '--write-scores', join(dir, 'o.txt'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.json: expected a JSON object with finite numbers "a" and "c"/);
    const sep = file('sep.txt', 'a 1 bonafide\nb 2 bonafide\nc -1 spoof\nd -2 spoof\n');
    r = cli('calibrate', '--scores', sep);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/perfectly separated/);
  });
});

describe('spoofscan eval --task trace', () => {
  const rows = TRACE;
  const list = file('trace_list.txt', rows.map(([t], i) => `apis/clip${i + 1}.wav ${t}`).join('\n') + '\n');
  const tsc = file('trace_scores.txt', rows.map(([, p], i) => `apis/clip${i + 1}.wav 0 ${p.join(' ')}`).join('\n') + '\n');

  it('open-set rule at τ 0.5 reproduces spec §7', () => {
    const j = json('eval', '--task', 'trace', '--scores', tsc, '--protocol', list, '--tau', '0.5');
    expect(j.tau).toBe(0.5);
    expect(j.accuracy).toBeCloseTo(0.66667, 5);
    expect(j.macro.f1).toBeCloseTo(0.65833, 5);
    expect(j.seen.f1).toBeCloseTo(0.65556, 5);
    expect(j.seen_false_rejection).toBeCloseTo(1 / 6, 12);
    expect(j.per_class['3']).toMatchObject({ support: 3 });
    expect(j.confusion).toHaveLength(4);
    const t = cli('eval', '--task', 'trace', '--scores', tsc, '--protocol', list, '--tau', '0.9');
    expect(t.stdout).toMatch(/accuracy\s+0\.5556/);
  });

  it('without --tau the class column is the prediction; logits need --logits', () => {
    const j = json('eval', '--task', 'trace', '--scores', tsc, '--protocol', list);
    expect(j.prediction).toBe('class column');
    expect(j.accuracy).toBeCloseTo(2 / 9, 12); // every clip predicted 0
    const logits = file('trace_logits.txt', 'apis/clip1.wav 0 3 1 0\n' + rows.slice(1).map(([, p], i) => `apis/clip${i + 2}.wav 0 ${p.join(' ')}`).join('\n') + '\n');
    const r = cli('eval', '--task', 'trace', '--scores', logits, '--protocol', list, '--tau', '0.5');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/1 line\(s\) do not hold probabilities .*trace_logits\.txt:1 .*pass --logits/);
    const ok = json('eval', '--task', 'trace', '--scores', logits, '--protocol', list, '--tau', '0.5', '--logits');
    expect(ok.n_trials).toBe(9);
  });
});
