import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, ProtocolError } from '../../train/data/errors.ts';
import { checkFilesExist } from '../../train/data/loader.node.ts';
import {
  countLabels,
  detectProtocolFormat,
  labelIndex,
  parentDirName,
  parseProtocol,
  splitCsvLine,
  type ProtocolFormat,
} from '../../train/data/protocols.ts';

function issues(text: string, format: ProtocolFormat, file = 'list.txt', opts = {}): string[] {
  try {
    parseProtocol(text, format, { file, ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as ProtocolError).issues.map((i) => `${i.file}:${i.line}: ${i.reason}`);
  }
  throw new Error('expected a ProtocolError');
}

describe('MultiAPI-Spoof lists', () => {
  it('detection: label words, data root, absolute paths, group = parent directory', () => {
    const text = 'a/xtts/1.wav bona-fide\nb/udio_10s/2.wav spoof\n/abs/yaya/3.wav fake\n\nc/real/4.flac real\nd/e/5.wav genuine\nd/e/6.wav spoofed\nd/e/7.wav bonafide\n';
    const r = parseProtocol(text, 'multiapi', { file: 'train.txt', root: '/data/root/' });
    expect(r.map((x) => [x.path, x.label, x.group])).toEqual([
      ['/data/root/a/xtts/1.wav', 'bonafide', 'xtts'],
      ['/data/root/b/udio_10s/2.wav', 'spoof', 'udio_10s'],
      ['/abs/yaya/3.wav', 'spoof', 'yaya'],
      ['/data/root/c/real/4.flac', 'bonafide', 'real'],
      ['/data/root/d/e/5.wav', 'bonafide', 'e'],
      ['/data/root/d/e/6.wav', 'spoof', 'e'],
      ['/data/root/d/e/7.wav', 'bonafide', 'e'],
    ]);
    expect(r[3].source).toBe('train.txt:5');
    expect(r.map((x) => labelIndex(x.label))).toEqual([1, 0, 0, 1, 1, 0, 1]);
  });

  it('detection: every malformed line reported with file, line and reason, all at once', () => {
    const text = 'a/x/1.wav bona-fide\na/x/2.wav maybe\na/x/3.wav\na/x/4.wav spoof extra\na/x/1.wav spoof\n';
    expect(issues(text, 'multiapi', 'dev.txt')).toEqual([
      "dev.txt:2: unknown label 'maybe' (expected bona-fide/bonafide/genuine/real or spoof/fake/spoofed)",
      'dev.txt:3: expected 2 columns (<path> <label>), found 1',
      'dev.txt:4: expected 2 columns (<path> <label>), found 3',
      "dev.txt:5: duplicate path 'a/x/1.wav' (first on line 1)",
    ]);
  });

  it('tracing: integer classes; composition: the five labels', () => {
    const t = parseProtocol('x/a/1.wav 0\nx/b/2.wav 21\n', 'multiapi-tracing');
    expect(t.map((r) => r.label)).toEqual([0, 21]);
    expect(issues('x/a/1.wav A3\nx/a/2.wav -1\n', 'multiapi-tracing')).toEqual([
      "list.txt:1: class must be a non-negative integer, found 'A3'",
      "list.txt:2: class must be a non-negative integer, found '-1'",
    ]);
    const c = parseProtocol('p/1.wav _ _ bonafide_0\np/2.wav _ _ spoof_spoof\np/3.wav _ _ bonafide_spoof\n', 'multiapi-composition');
    expect(c.map((r) => r.label)).toEqual([0, 4, 3]);
    expect(issues('p/1.wav _ _ fake_real\n', 'multiapi-composition')[0]).toMatch(/list\.txt:1: unknown composition label 'fake_real'/);
  });

  it('an empty list is an error', () => {
    expect(issues('\n\n', 'multiapi')).toEqual(['list.txt:0: no trials']);
  });
});

describe('ASVspoof 2019 LA', () => {
  const good = 'LA_0079 LA_T_1138215 - - bonafide\nLA_0039 LA_E_2834763 - A11 spoof\n';
  it('reads the five columns; audio under <root>/<name>.flac; group = system', () => {
    const r = parseProtocol(good, 'asvspoof2019-la', { root: '/d/ASVspoof2019_LA_train/flac' });
    expect(r).toEqual([
      { path: '/d/ASVspoof2019_LA_train/flac/LA_T_1138215.flac', label: 'bonafide', group: 'bonafide', speaker: 'LA_0079', source: '<protocol>:1' },
      { path: '/d/ASVspoof2019_LA_train/flac/LA_E_2834763.flac', label: 'spoof', group: 'A11', speaker: 'LA_0039', source: '<protocol>:2' },
    ]);
  });
  it('malformed lines', () => {
    const bad = 'LA_0079 LA_T_1 - - bonafide\nLA_0079 LA_T_2 x - bonafide\nLA_0079 LA_T_3 - A01 bonafide\nLA_0079 LA_T_4 - - spoof\nLA_0079 LA_T_5 - A01 fake\nLA_0079 LA_T_6 - A01\n';
    expect(issues(bad, 'asvspoof2019-la', 'ASVspoof2019.LA.cm.train.trn.txt')).toEqual([
      "ASVspoof2019.LA.cm.train.trn.txt:2: column 3 must be '-', found 'x'",
      "ASVspoof2019.LA.cm.train.trn.txt:3: bona fide trial with system 'A01' (expected '-')",
      "ASVspoof2019.LA.cm.train.trn.txt:4: spoof trial with system '-' (expected A01–A19)",
      "ASVspoof2019.LA.cm.train.trn.txt:5: unknown key 'fake' (expected bonafide or spoof)",
      'ASVspoof2019.LA.cm.train.trn.txt:6: expected 5 columns (SPEAKER_ID AUDIO_FILE_NAME - SYSTEM_ID KEY), found 4',
    ]);
  });
});

describe('ASVspoof 2021 keys', () => {
  it('LA (8 columns): codec, subset, optional subset filter', () => {
    const text = 'LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval\nLA_0010 LA_E_1 none loc_tx bonafide bonafide notrim progress\n';
    const all = parseProtocol(text, 'asvspoof2021-la', { root: 'flac' });
    expect(all[0]).toMatchObject({ path: 'flac/LA_E_9332881.flac', label: 'spoof', group: 'A07', codec: 'alaw', subset: 'eval', speaker: 'LA_0009' });
    expect(all[1]).toMatchObject({ label: 'bonafide', group: 'bonafide', subset: 'progress' });
    expect(parseProtocol(text, 'asvspoof2021-la', { subsets: ['eval'] }).length).toBe(1);
  });
  it('DF (13 columns)', () => {
    const text = 'LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -\n';
    expect(parseProtocol(text, 'asvspoof2021-df')[0]).toMatchObject({ path: 'DF_E_2000011.flac', codec: 'nocodec', group: 'A14', subset: 'progress' });
    expect(issues('LA_0023 DF_E_1 nocodec asvspoof A14 spoof notrim progress\n', 'asvspoof2021-df')[0]).toMatch(/:1: expected 13 columns/);
    expect(issues('LA_0023 DF_E_1 nocodec asvspoof A14 spoof notrim later x - - - -\n', 'asvspoof2021-df')[0]).toMatch(/unknown subset 'later'/);
  });
});

describe('ASVspoof 5', () => {
  it('10 space-separated columns; the 6-column early format is named as such', () => {
    const text = 'T_4850 T_0000000000 F - - - AC3 A05 spoof -\nD_0062 D_0000000001 M C05 3 T_0000000123 - bonafide bonafide -\n';
    const r = parseProtocol(text, 'asvspoof5', { root: 'flac_T' });
    expect(r[0]).toMatchObject({ path: 'flac_T/T_0000000000.flac', label: 'spoof', group: 'A05', speaker: 'T_4850' });
    expect(r[0].codec).toBeUndefined();
    expect(r[1]).toMatchObject({ label: 'bonafide', group: 'bonafide', codec: 'C05' });
    expect(issues('T_1 T_2 F - A01 spoof\n', 'asvspoof5')[0]).toMatch(/6-column line: this is the early baseline format/);
    expect(issues('T_1 T_2 X - - - AC3 A05 spoof -\nT_1 T_3 F - - - - A05 bonafide -\n', 'asvspoof5')).toEqual([
      "list.txt:1: unknown gender 'X' (expected F or M)",
      "list.txt:2: bona fide trial with attack label 'A05'",
    ]);
  });
});

describe('column-header lines', () => {
  it('a leading header line (the ASVspoof 5 key file, `filename<TAB>cm-label`) is skipped; line numbers stay', () => {
    const text = 'filename\tcm-label\nE_0001.flac\tspoof\nE_0002.flac\tbonafide\n';
    expect(detectProtocolFormat(text)).toBe('native');
    const r = parseProtocol(text, 'native', { file: 'key.tsv' });
    expect(r.map((x) => [x.path, x.label])).toEqual([['E_0001.flac', 'spoof'], ['E_0002.flac', 'bonafide']]);
    expect(issues('filename\tcm-label\nE_0001.flac\tmaybe\n', 'native')[0]).toMatch(/:2: /);
  });
});

describe('In-the-Wild meta.csv', () => {
  it('header, hyphenated labels, quoted speaker names; counts recounted from the file', () => {
    const text = 'file,speaker,label\n0.wav,Alec Guinness,spoof\n1.wav,"Doe, John",bona-fide\n2.wav,"Say ""hi""",bona-fide\n';
    const r = parseProtocol(text, 'in-the-wild', { root: 'release_in_the_wild' });
    expect(r.map((x) => [x.path, x.speaker, x.label])).toEqual([
      ['release_in_the_wild/0.wav', 'Alec Guinness', 'spoof'],
      ['release_in_the_wild/1.wav', 'Doe, John', 'bonafide'],
      ['release_in_the_wild/2.wav', 'Say "hi"', 'bonafide'],
    ]);
    expect(countLabels(r)).toEqual(new Map([['spoof', 1], ['bonafide', 2]]));
  });
  it('malformed', () => {
    expect(issues('path,who,label\n', 'in-the-wild', 'meta.csv')).toEqual(["meta.csv:1: expected header 'file,speaker,label', found 'path,who,label'"]);
    expect(issues('file,speaker,label\n0.wav,A,bonafide\n1.wav,"B,spoof\n2.wav,C\n,D,spoof\n', 'in-the-wild', 'meta.csv')).toEqual([
      "meta.csv:2: unknown label 'bonafide' (expected bona-fide or spoof)",
      'meta.csv:3: unterminated quoted field',
      'meta.csv:4: expected 3 comma-separated fields (file,speaker,label), found 2',
      'meta.csv:5: empty file name',
    ]);
    expect(splitCsvLine('a,"b,c",d')).toEqual(['a', 'b,c', 'd']);
  });
});

describe('native lists', () => {
  it('TAB-separated, comments, paths relative to the list file, optional group', () => {
    const text = '# comment\nclips/a.wav\tbonafide\n/abs/b.wav\tspoof\tvoc\n\nc d.wav\t3\n';
    const r = parseProtocol(text, 'native', { file: '/lists/dev.tsv' });
    expect(r.map((x) => [x.path, x.label, x.group])).toEqual([
      ['/lists/clips/a.wav', 'bonafide', 'clips'],
      ['/abs/b.wav', 'spoof', 'voc'],
      ['/lists/c d.wav', 3, undefined],
    ]);
    expect(issues('a.wav\tmaybe\nb.wav\nc.wav\tspoof\tg\textra\n', 'native', 'n.tsv')).toEqual([
      "n.tsv:1: unknown label 'maybe' (expected bonafide/spoof or a class index)",
      'n.tsv:2: expected <path><TAB><label>[<TAB><group>], found 1 tab-separated field(s)',
      'n.tsv:3: expected <path><TAB><label>[<TAB><group>], found 4 tab-separated field(s)',
    ]);
  });
});

describe('format detection and helpers', () => {
  it.each([
    ['a/b.wav spoof\n', 'multiapi'],
    ['a/b.wav 3\n', 'multiapi-tracing'],
    ['a/b.wav _ _ spoof_spoof\n', 'multiapi-composition'],
    ['LA_0079 LA_T_1138215 - - bonafide\n', 'asvspoof2019-la'],
    ['LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval\n', 'asvspoof2021-la'],
    ['LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -\n', 'asvspoof2021-df'],
    ['T_4850 T_0000000000 F - - - AC3 A05 spoof -\n', 'asvspoof5'],
    ['file,speaker,label\n', 'in-the-wild'],
    ['# c\na.wav\tspoof\n', 'native'],
    ['one two three\n', null],
  ])('%j → %s', (text, fmt) => {
    expect(detectProtocolFormat(text)).toBe(fmt);
  });
  it('parentDirName', () => {
    expect(parentDirName('/x/y/api/f.wav')).toBe('api');
    expect(parentDirName('f.wav')).toBe('');
    expect(parentDirName('C:\\data\\api\\f.wav')).toBe('api');
  });
});

describe('missing files are reported before training, all at once', () => {
  it('lists every missing file with the line that names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoofscan-proto-'));
    writeFileSync(join(dir, 'present.wav'), 'x');
    const text = ['present.wav spoof', 'gone1.wav spoof', 'present2.wav bona-fide', 'gone2.wav spoof'].join('\n');
    const recs = parseProtocol(text, 'multiapi', { file: 'eval.txt', root: dir });
    let err: Error | null = null;
    try {
      await checkFilesExist(recs);
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(DataError);
    expect(err!.message).toBe(
      `3 of 4 listed audio files are missing:\n  eval.txt:2: ${dir}/gone1.wav\n  eval.txt:3: ${dir}/present2.wav\n  eval.txt:4: ${dir}/gone2.wav`,
    );
    await expect(checkFilesExist(recs.slice(0, 1))).resolves.toBeUndefined();
  });
});
