// Protocol and score-file readers, id matching, and their error messages.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MetricsInputError,
  buildDetectionSet,
  buildTracingSet,
  parentDirName,
  parseDetectionScores,
  parseProtocol,
  parseTracingScores,
  splitLines,
  tailKey,
  type Protocol,
} from '../../train/metrics/index.ts';

const proto = (text: string, name = 'p.txt'): Protocol => parseProtocol(splitLines(text), name);
const det = (text: string, name = 's.txt', keepRest = false) => parseDetectionScores(splitLines(text), name, { keepRest });

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MetricsInputError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('protocol formats (spec data.md §3)', () => {
  it('ASVspoof 2019 LA: 5 columns, attack = column 4', () => {
    const p = proto('LA_0079 LA_T_1138215 - - bonafide\nLA_0039 LA_E_2834763 - A11 spoof\n');
    expect(p.format).toBe('asvspoof2019-la');
    expect(p.trials).toEqual([
      { id: 'LA_T_1138215', label: 'bonafide', speaker: 'LA_0079', line: 1 },
      { id: 'LA_E_2834763', label: 'spoof', group: 'A11', speaker: 'LA_0039', line: 2 },
    ]);
  });

  it('ASVspoof 2021 LA keys: 8 columns with codec and subset', () => {
    const p = proto('LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval\nLA_0010 LA_E_1 none loc_tx bonafide bonafide notrim progress\n');
    expect(p.format).toBe('asvspoof2021-la');
    expect(p.hasSubsets).toBe(true);
    expect(p.trials[0]).toMatchObject({ id: 'LA_E_9332881', label: 'spoof', group: 'A07', codec: 'alaw', subset: 'eval' });
    expect(p.trials[1]).toMatchObject({ id: 'LA_E_1', label: 'bonafide', subset: 'progress' });
    expect(p.trials[1].group).toBeUndefined();
  });

  it('ASVspoof 2021 DF keys: 13 columns', () => {
    const p = proto('LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -\n');
    expect(p.format).toBe('asvspoof2021-df');
    expect(p.trials[0]).toMatchObject({ id: 'DF_E_2000011', label: 'spoof', group: 'A14', subset: 'progress', codec: 'nocodec' });
  });

  it('ASVspoof 5 tsv: 10 space-separated columns, attack label = column 8', () => {
    const p = proto('E_0001 E_000001 F C05 hq - AC1 A17 spoof -\nE_0002 E_000002 M - - - - bonafide bonafide -\n');
    expect(p.format).toBe('asvspoof5');
    expect(p.trials[0]).toMatchObject({ id: 'E_000001', label: 'spoof', group: 'A17', codec: 'C05' });
    expect(p.trials[1]).toMatchObject({ id: 'E_000002', label: 'bonafide' });
    expect(p.trials[1].group).toBeUndefined();
  });

  it('ASVspoof 5 keys file with its header', () => {
    const p = proto('filename\tcm-label\nE_1\tbonafide\nE_2\tspoof\n');
    expect(p.format).toBe('list');
    expect(p.trials.map((t) => [t.id, t.label, t.line])).toEqual([
      ['E_1', 'bonafide', 2],
      ['E_2', 'spoof', 3],
    ]);
  });

  it('In-the-Wild meta.csv (quoted fields, hyphenated label)', () => {
    const p = proto('file,speaker,label\n0.wav,Alec Guinness,spoof\n1.wav,"Doe, John",bona-fide\n');
    expect(p.format).toBe('in-the-wild');
    expect(p.trials).toEqual([
      { id: '0.wav', label: 'spoof', speaker: 'Alec Guinness', line: 2 },
      { id: '1.wav', label: 'bonafide', speaker: 'Doe, John', line: 3 },
    ]);
  });

  it('MultiAPI-Spoof lists: group = parent directory, all label spellings', () => {
    const p = proto('data/real/a.wav bona-fide\ndata/xttsv2/b.wav spoof\nc.wav genuine\nd/e.flac FAKE\nf/g.wav real\nh/i.wav spoofed\n');
    expect(p.format).toBe('list');
    expect(p.trials.map((t) => [t.label, t.group])).toEqual([
      ['bonafide', 'real'],
      ['spoof', 'xttsv2'],
      ['bonafide', undefined],
      ['spoof', 'd'],
      ['bonafide', 'f'],
      ['spoof', 'h'],
    ]);
  });

  it('native lists: path<TAB>label<TAB>group, # comments, paths with spaces', () => {
    const p = proto('# a comment\nmy dir/a.wav\tbonafide\tspeakers\nx/b.wav\tspoof\tespeak-ng\n');
    expect(p.format).toBe('list-with-group');
    expect(p.trials.map((t) => [t.id, t.group])).toEqual([
      ['my dir/a.wav', 'speakers'],
      ['x/b.wav', 'espeak-ng'],
    ]);
  });

  it('native lists: the group column is optional per line (spec data.md §3.6), else the parent directory', () => {
    for (const text of ['a/x.wav\tbonafide\na/y.wav\tspoof\tA01\nb/z.wav\tspoof\n', 'a/y.wav\tspoof\tA01\na/x.wav\tbonafide\nb/z.wav\tspoof\n']) {
      const p = proto(text);
      const byId = Object.fromEntries(p.trials.map((t) => [t.id, [t.label, t.group]]));
      expect(byId).toEqual({ 'a/x.wav': ['bonafide', 'a'], 'a/y.wav': ['spoof', 'A01'], 'b/z.wav': ['spoof', 'b'] });
    }
  });

  it('tracing lists: integer class labels', () => {
    const p = proto('a/x.wav 0\nb/y.wav 21\n');
    expect(p.trials.map((t) => t.label)).toEqual([0, 21]);
  });

  it('errors: unknown labels and wrong column counts, with counts and lines', () => {
    const msg = errorOf(() => proto('a bonafide\nb maybe\nc spoof\nd x\ne f g h\n'));
    expect(msg).toMatch(/p\.txt: 1 line\(s\) do not have the column count of the list format; first: p\.txt:5/);
    expect(msg).toMatch(/2 line\(s\) have an unknown label .*first: p\.txt:2 "maybe", p\.txt:4 "x"/);
  });

  it('errors: duplicate ids', () => {
    const msg = errorOf(() => proto('a bonafide\nb spoof\na spoof\nb spoof\nb spoof\n'));
    expect(msg).toContain('2 duplicate id(s) (3 extra line(s))');
    expect(msg).toContain('"a" at p.txt:1, p.txt:3');
    expect(msg).toContain('"b" at p.txt:2, p.txt:4, p.txt:5');
  });

  it('errors: unrecognised format names the line', () => {
    expect(errorOf(() => proto('\n\na b c d\n'))).toMatch(/p\.txt:3: unrecognised protocol format "a b c d" \(4 columns\)/);
    expect(errorOf(() => proto('# only a comment\n'))).toMatch(/no trials/);
  });
});

describe('score files', () => {
  it('id score, with score_type header and blank lines', () => {
    const f = det('# score_type=logit_diff\nLA_E_1 1.5\n\nLA_E_2\t-2e-1\r\n');
    expect(f.ids).toEqual(['LA_E_1', 'LA_E_2']);
    expect(Array.from(f.scores)).toEqual([1.5, -0.2]);
    expect(Array.from(f.lines)).toEqual([2, 4]);
    expect(f.scoreType).toBe('logit_diff');
    expect(f.labels).toBeNull();
  });

  it('ASVspoof 5 score file with its header; spoofscan and MultiAPI formats carry labels and groups', () => {
    expect(det('filename\tcm-score\nE_1\t0.5\n').header).toBe('filename\tcm-score');
    const sp = det('a/x.wav\t1\tbonafide\tsrc\nb/y.wav\t-1\tspoof\tespeak\n');
    expect(sp.labels).toEqual(['bonafide', 'spoof']);
    expect(sp.groups).toEqual(['src', 'espeak']);
    const ma = det('data/tor/1.wav 0.1 spoof\ndata/real/2.wav 0.9 bonafide\n');
    expect(ma.groups).toEqual(['tor', 'real']);
  });

  it('ASVspoof 2019 CM score files: id attack label score', () => {
    const f = det('LA_E_1 A07 spoof -3.5\nLA_E_2 - bonafide 2\n', 's.txt', true);
    expect(Array.from(f.scores)).toEqual([-3.5, 2]);
    expect(f.labels).toEqual(['spoof', 'bonafide']);
    expect(f.groups).toEqual(['A07', undefined]);
    expect(f.rest).toEqual(['spoof\tA07', 'bonafide\t-']);
  });

  it('errors: non-numeric, NaN, infinite scores and duplicates, all counted', () => {
    const lines = ['a 1', 'b x', 'c NaN', 'd inf', 'e 1e999', 'f 0x10', 'g -Infinity', 'a 2', 'h'];
    const msg = errorOf(() => det(lines.join('\n')));
    expect(msg).toMatch(/^s\.txt: 6 line\(s\) have a non-numeric, NaN or infinite score; first: line 2: "b x", line 3: "c NaN", line 4: "d inf", line 5: "e 1e999", line 6: "f 0x10", … \(1 more\)/);
    expect(msg).toContain('1 line(s) have fewer than 2 fields');
    expect(msg).toContain('1 duplicate id(s) (1 extra line(s)); first: "a" at line 1, line 8');
  });

  it('tracing: id class p0 … p(K−1)', () => {
    const f = parseTracingScores(splitLines('a 0 0.9 0.1\nb 2 0.5 0.5\n'), 't.txt');
    expect(f.nSeen).toBe(2);
    expect(Array.from(f.predicted)).toEqual([0, 2]);
    expect(Array.from(f.probs)).toEqual([0.9, 0.1, 0.5, 0.5]);
    const msg = errorOf(() => parseTracingScores(splitLines('a 0 0.9 0.1\nb 3 0.5 0.5\nc 1 0.5\nd 1 x 1\n'), 't.txt'));
    expect(msg).toMatch(/3 line\(s\) are not `id class p0 … p1` .*first: line 2: "b 3 0.5 0.5", line 3: "c 1 0.5", line 4: "d 1 x 1"/);
    expect(errorOf(() => parseTracingScores(splitLines('a 0.5\n'), 't.txt'))).toMatch(/use --task detect/);
  });
});

describe('joining scores with a protocol', () => {
  const p19 = proto('S LA_E_1 - - bonafide\nS LA_E_2 - A07 spoof\nS LA_E_3 - A08 spoof\n');

  it('exact ids', () => {
    const set = buildDetectionSet(det('LA_E_3 -1\nLA_E_1 2\nLA_E_2 0\n'), p19);
    expect(set.mode).toBe('exact');
    expect(Array.from(set.bonafide)).toEqual([2]);
    expect(Array.from(set.spoof)).toEqual([-1, 0]);
    expect(set.spoofGroups).toEqual(['A08', 'A07']);
  });

  it('score ids that are paths with extensions (ASVspoof flac paths)', () => {
    const set = buildDetectionSet(det('/data/LA/flac/LA_E_1.flac 2\n/data/LA/flac/LA_E_2.flac 0\n/data/LA/flac/LA_E_3.flac -1\n'), p19);
    expect(set.mode).toBe('path-tail-stem');
    expect(Array.from(set.bonafide)).toEqual([2]);
  });

  it('relative list paths against absolute score paths, same file name in two API folders', () => {
    const p = proto('api1/0001.wav spoof\napi2/0001.wav spoof\nreal/0001.wav bonafide\n');
    const set = buildDetectionSet(det('/corpus/api2/0001.wav 0.2\n/corpus/real/0001.wav 0.9\n/corpus/api1/0001.wav 0.1\n'), p);
    expect(set.mode).toBe('path-tail');
    expect(Array.from(set.spoof)).toEqual([0.2, 0.1]);
    expect(set.spoofGroups).toEqual(['api2', 'api1']);
  });

  it('In-the-Wild file names against directory-prefixed score ids', () => {
    const p = proto('file,speaker,label\n0.wav,A,spoof\n1.wav,B,bona-fide\n');
    const set = buildDetectionSet(det('release_in_the_wild/1.wav 3\nrelease_in_the_wild/0.wav -3\n'), p);
    expect(set.mode).toBe('path-tail');
    expect(Array.from(set.bonafide)).toEqual([3]);
  });

  it('two score lines whose tails collapse onto one protocol trial are not matched by that tail', () => {
    const p = proto('x.wav spoof\ny.wav bonafide\n');
    const msg = errorOf(() => buildDetectionSet(det('d1/x.wav 0.1\nd2/x.wav 0.2\nd/y.wav 0.9\n'), p));
    expect(msg).toContain('3 of 3 score line(s) have an id that is not in the protocol');
  });

  it('tail keys and parent directories equal the definition: path components split on / or \\, empty and . parts dropped', () => {
    const parts = (id: string) => id.split(/[\\/]+/).filter((x) => x !== '' && x !== '.');
    const ref = (id: string, m: number, stripExt: boolean) => {
      const t = parts(id).slice(-m);
      if (stripExt && t.length > 0) {
        const dot = t[t.length - 1].lastIndexOf('.');
        if (dot > 0) t[t.length - 1] = t[t.length - 1].slice(0, dot);
      }
      return t.join('/');
    };
    const piece = fc.constantFrom('a', 'bc', '.', '..', 'x.wav', 'LA_E_1.flac', '.hidden', 'd.e.f', '');
    const sep = fc.constantFrom('/', '\\', '//', '/./');
    const id = fc.array(fc.tuple(piece, sep), { maxLength: 6 }).chain((xs) => piece.map((last) => xs.map(([p, s]) => p + s).join('') + last));
    fc.assert(
      fc.property(id, fc.integer({ min: 1, max: 4 }), fc.boolean(), (x, m, stripExt) => {
        expect(tailKey(x, m, stripExt)).toBe(ref(x, m, stripExt));
        const ps = parts(x);
        expect(parentDirName(x)).toBe(ps.length >= 2 ? ps[ps.length - 2] : undefined);
      }),
      { seed: 8, numRuns: 3000 },
    );
  });

  it('mismatch in both directions: counts and first offending lines of both files', () => {
    const msg = errorOf(() => buildDetectionSet(det('LA_E_1 1\nLA_E_9 2\nLA_E_8 2\n'), p19));
    expect(msg).toContain('2 of 3 score line(s) have an id that is not in the protocol; first: s.txt:2 "LA_E_9", s.txt:3 "LA_E_8"');
    expect(msg).toContain('2 of 3 protocol trial(s) have no score; first: p.txt:2 "LA_E_2", p.txt:3 "LA_E_3"');
  });

  it('one class empty', () => {
    expect(errorOf(() => buildDetectionSet(det('LA_E_2 1\nLA_E_3 2\n'), proto('S LA_E_2 - A07 spoof\nS LA_E_3 - A08 spoof\n')))).toMatch(
      /one class is empty \(0 bona fide, 2 spoof trials\)/,
    );
  });

  it('ASVspoof 2021 subsets: --subset skips other trials, and a mismatch hints at it', () => {
    const p = proto('S LA_E_1 none loc_tx bonafide bonafide notrim eval\nS LA_E_2 alaw ita_tx A07 spoof notrim eval\nS LA_E_3 alaw ita_tx A07 spoof notrim progress\n');
    const scores = det('LA_E_1 1\nLA_E_2 0\nLA_E_3 5\n');
    const set = buildDetectionSet(scores, p, { subset: 'eval' });
    expect(Array.from(set.spoof)).toEqual([0]);
    expect(set.skipped).toBe(1);
    expect(set.excluded).toBe(1);
    expect(errorOf(() => buildDetectionSet(det('LA_E_1 1\nLA_E_2 0\n'), p))).toMatch(/--subset eval/);
    expect(errorOf(() => buildDetectionSet(scores, p, { subset: 'hidden' }))).toMatch(/no trial .* in that subset \(subsets: eval, progress\)/);
    expect(errorOf(() => buildDetectionSet(scores, p19, { subset: 'eval' }))).toMatch(/has no subset column/);
  });

  it('labels from the score file when there is no protocol', () => {
    const set = buildDetectionSet(det('a/x.wav 1 bonafide\nb/y.wav 0 spoof\n'), null);
    expect(set.mode).toBe('score-file-labels');
    expect(set.spoofGroups).toEqual(['b']);
    expect(errorOf(() => buildDetectionSet(det('a 1 bonafide\nb 0\n'), null))).toMatch(/no --protocol given .* 1 line\(s\) have no bonafide\/spoof label in column 3; first: s\.txt:2 "b 0"/);
  });

  it('tracing lists need class indices; detection refuses them', () => {
    const tp = proto('a.wav 0\nb.wav 2\n');
    const ts = parseTracingScores(splitLines('a.wav 0 0.6 0.4\nb.wav 2 0.3 0.7\n'), 't.txt');
    expect(Array.from(buildTracingSet(ts, tp).truth)).toEqual([0, 2]);
    expect(errorOf(() => buildTracingSet(ts, proto('a.wav 0\nb.wav 3\n')))).toMatch(/1 trial\(s\) do not have a class index in 0…2/);
    expect(errorOf(() => buildDetectionSet(det('a.wav 1\nb.wav 2\n'), tp))).toMatch(/tracing class index/);
  });
});
