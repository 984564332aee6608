// `spoofscan convert`: every published layout → a spoofscan safetensors file that loads back identically.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/commands/convert.ts';
import { bytesOf, loadWeights, META_CONFIG, openSafetensors } from '../../models/io/index.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { FIXTURES } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'spoofscan-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; out: string }> {
  let out = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void (out += a.join(' ') + '\n'));
  const err = vi.spyOn(console, 'error').mockImplementation((...a) => void (out += a.join(' ') + '\n'));
  const w = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { value: await fn(), out };
  } finally {
    log.mockRestore();
    err.mockRestore();
    w.mockRestore();
  }
}

describe('spoofscan convert', () => {
  it.each(['xlsr-fairseq.pt', 'nes2net-la-ddp.pth', 'hf/pytorch_model.bin', 'hf/model.safetensors'])('%s → spoofscan safetensors, same tensors and config', async (file) => {
    const out = join(dir, `${file.replace('/', '_')}.safetensors`);
    const { value: code, out: log } = await quiet(() => run([join(FIXTURES, file), out]));
    expect(code).toBe(0);
    expect(log).toMatch(/mapped: \d+ tensors/);
    expect(log).toMatch(/wrote .* tensors, [\d,]+ parameters, f32/);
    const [a, b] = [await fileSource(join(FIXTURES, file)), await fileSource(out)];
    try {
      const hf = file.startsWith('hf/') ? { hfConfig: (await import(join(FIXTURES, 'hf', 'config.json'), { with: { type: 'json' } })).default } : {};
      const src = await loadWeights(a, hf);
      const conv = await loadWeights(b);
      expect(conv.report.layout).toEqual(['spoofscan']);
      expect(conv.report.configSource).toBe(`${META_CONFIG} metadata`);
      expect(conv.config).toEqual(src.config);
      expect(conv.tensors.map((t) => t.name)).toEqual(src.tensors.map((t) => t.name));
      for (const t of src.tensors) {
        const x = await t.read('F32');
        const y = await conv.get(t.name)!.read();
        expect(y.dtype === 'I64' || y.dtype === 'F32').toBe(true);
        expect(Buffer.from(bytesOf(y.data)).equals(Buffer.from(bytesOf(x.data))), t.name).toBe(true);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('--dtype f16 stores floating tensors as F16, int64 buffers unchanged', async () => {
    const out = join(dir, 'la16.safetensors');
    expect((await quiet(() => run([join(FIXTURES, 'nes2net-la-ddp.pth'), out, '--dtype', 'f16']))).value).toBe(0);
    const src = await fileSource(out);
    const st = await openSafetensors(src);
    await src.close();
    const dtypes = new Set(st.entries.map((e) => `${e.dtype}:${e.name.endsWith('num_batches_tracked')}`));
    expect([...dtypes].sort()).toEqual(['F16:false', 'I64:true']);
    expect(JSON.parse(st.metadata![META_CONFIG]).arch).toBe('xlsr-nes2net');
  });

  it('fails with the load report and a clear message on a file that does not fit, writing nothing', async () => {
    const out = join(dir, 'never.safetensors');
    const r = quiet(() => run([join(FIXTURES, 'legacy.pt'), out]));
    await expect(r).rejects.toThrow(/legacy\.pt: this is a legacy/);
    await expect(quiet(() => run([join(FIXTURES, 'xlsr-fairseq.pt'), out, '--dtype', 'f64']))).rejects.toThrow(/--dtype must be f32 or f16/);
    await expect(quiet(() => run([join(FIXTURES, 'dtypes.pt'), out]))).rejects.toThrow(/dtypes\.pt: no tensor of a known model/);
    await expect(fileSource(out)).rejects.toThrow(/cannot open/);
  });
});
