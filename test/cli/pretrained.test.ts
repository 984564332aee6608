// The bundled demo models (models/pretrained/, trained by `spoofscan demo` on data/mini): score and trace work with
// no --model, say which model they used and that it is a toy, give real answers on held-out clips, and their
// score files go through eval (detection and tracing) as they are.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { PRETRAINED } from '../../cli/pretrained.ts';
import { useEngine } from '../helpers/engine.ts';
import { MINI, tempDir, writeList } from '../train/mini-lists.ts';

useEngine();

describe('the bundled demo models', () => {
  const dir = tempDir('pretrained');

  it('ship with the package', () => {
    expect(existsSync(PRETRAINED.detector)).toBe(true);
    expect(existsSync(PRETRAINED.tracer)).toBe(true);
  });

  it('score with no --model: a toy trained on data/mini, right on held-out eval clips', async () => {
    const bona = join(MINI, 'bonafide/conf-getpin.flac');
    const spoof = join(MINI, 'flite-slt/conf-getpin.flac');
    const r = await cli('score', bona, spoof);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/model: .*models\/pretrained\/detector\.safetensors — TOY model trained on data\/mini/);
    const rows = r.out.split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    expect(rows[0][0]).toBe(bona);
    expect(rows[0].slice(4).join(' ')).toBe('bona fide');
    expect(rows[1].slice(4).join(' ')).toBe('SPOOF');
  });

  it('trace with no --model: class names and τ from the checkpoint; its score file goes through eval --task trace', async () => {
    const list = writeList(dir, 'trace.txt', ['flite-slt/conf-getpin.flac 3', 'espeak-ng/conf-getpin.flac 0', 'festival-ked/conf-getpin.flac 6', 'festival-slt-hts/conf-getpin.flac 7']);
    const out = join(dir, 'trace.tsv');
    const r = await cli('trace', '--list', list, '--root', MINI, '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/TOY model/);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^# classes=espeak-ng,espeak-ng-klatt,flite-kal,flite-slt,flite-awb,festival-kal,festival-ked tau=0\.\d+/);
    const e = await cli('eval', '--task', 'trace', '--scores', out, '--protocol', list, '--json');
    expect(e.code, e.err).toBe(0);
    expect(JSON.parse(e.out)).toHaveProperty('accuracy');
    const table = await cli('trace', join(MINI, 'flite-slt/conf-getpin.flac'));
    expect(table.out).toMatch(/flite-slt\/conf-getpin\.flac\s+\S+.*%/);
  });
});
