// Named hostile cases (each fuzz category with its exact message), write failures, zip size lies, pickle
// blow-ups, config.json detection and browser safety of models/io.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/commands/convert.ts';
import {
  bufferSource, CheckpointError, encodeSafetensors, formatLoadReport, LoadError, loadWeights, openCheckpoint, openSafetensors, toPlain,
  unpickle, urlSource,
} from '../../models/io/index.ts';
import { buildZip, FIXTURES, PickleWriter, torchZipEntries, zipToBytes, type SynthTensor } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'spoofscan-hardening-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; out: string }> {
  let out = '';
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a) => void (out += a.join(' ') + '\n')),
    vi.spyOn(console, 'error').mockImplementation((...a) => void (out += a.join(' ') + '\n')),
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true),
  ];
  try {
    return { value: await fn(), out };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

/** Opens and reads every tensor; returns the CheckpointError (anything else, or success, fails the test). */
async function failure(bytes: Uint8Array, name = 'hostile.bin'): Promise<string> {
  try {
    const ck = await openCheckpoint(bufferSource(bytes, name));
    for (const t of ck.tensors) await t.read();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    const msg = (e as Error).message;
    expect(msg.startsWith(`${name}: `)).toBe(true);
    return msg;
  }
  throw new Error('the hostile file loaded without an error');
}

function safetensors(header: unknown, dataBytes: number, lyingLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const b = new Uint8Array(8 + json.length + dataBytes);
  new DataView(b.buffer).setBigUint64(0, lyingLength ?? BigInt(json.length), true);
  b.set(json, 8);
  return b;
}

const f32bytes = (n: number) => new Uint8Array(Float32Array.from({ length: n }, (_, i) => i + 1).buffer);
const W: SynthTensor[] = [{ name: 'w', dtype: 'F32', shape: [2, 3], data: f32bytes(6) }];

/** Offset of the central-directory record of `name` in a zip. */
function centralRecord(zip: Uint8Array, name: string): number {
  const dv = new DataView(zip.buffer, zip.byteOffset);
  const want = new TextEncoder().encode(name);
  for (let i = 0; i + 46 <= zip.length; i++) {
    if (dv.getUint32(i, true) === 0x02014b50 && dv.getUint16(i + 28, true) === want.length && want.every((c, k) => zip[i + 46 + k] === c)) return i;
  }
  throw new Error(`no central record for ${name}`);
}

/** The pickle of one tensor `t` over storage "0" with the given numel, offset, shape and stride. */
function oneTensorPickle(numel: number, offset: number, shape: number[], stride: number[]): Uint8Array {
  const p = new PickleWriter().global('collections', 'OrderedDict').op(0x29, 0x52).str('t').global('torch._utils', '_rebuild_tensor_v2').mark();
  p.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(numel).tuple().op(0x51).int(offset).mark();
  for (const d of shape) p.int(d);
  p.tuple().mark();
  for (const s of stride) p.int(s);
  return p.tuple().op(0x89).op(0x4e).tuple().op(0x52, 0x73, 0x2e).bytes();
}

describe('hostile files, one per fuzz category, with the exact problem named', () => {
  const a8 = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  it.each<[string, () => Uint8Array, RegExp]>([
    ['an empty file', () => new Uint8Array(0), /^hostile\.bin: empty file \(0 bytes\)/],
    ['safetensors: truncated data', () => safetensors({ a: a8 }, 4), /lie outside the data section \(4 bytes\)/],
    ['safetensors: header length larger than the file', () => safetensors({ a: a8 }, 8, 1n << 40n), /header length 1099511627776 does not fit the file/],
    ['safetensors: header length past 2^53', () => safetensors({ a: a8 }, 8, 1n << 60n), /header length 1152921504606846976 does not fit/],
    ['safetensors: overlapping offsets', () => safetensors({ a: a8, b: { ...a8, data_offsets: [4, 12] } }, 12), /tensor "b" overlaps the tensor before it/],
    ['safetensors: out-of-range offsets', () => safetensors({ a: { ...a8, data_offsets: [8, 16] } }, 8), /data_offsets \[8, 16\] lie outside the data section/],
    ['safetensors: negative offsets', () => safetensors({ a: { ...a8, data_offsets: [-8, 0] } }, 8), /invalid data_offsets \[-8,0\]/],
    ['safetensors: a gap between tensors', () => safetensors({ a: { ...a8, data_offsets: [4, 12] } }, 12), /gap of 4 bytes before tensor "a"/],
    ['safetensors: unknown dtype', () => safetensors({ a: { ...a8, dtype: 'F8_E4M3' } }, 8), /tensor "a" has unsupported dtype "F8_E4M3"/],
    ['safetensors: size does not match dtype × shape', () => safetensors({ a: { ...a8, dtype: 'F64' } }, 8), /is 8 bytes but F64 \[2\] needs 16/],
    ['safetensors: huge shape', () => safetensors({ a: { ...a8, shape: [2 ** 31, 2 ** 31, 2 ** 31] } }, 8), /invalid or too large shape/],
    ['zip: truncated (no end record)', () => zipToBytes(buildZip(torchZipEntries(W))).slice(0, -30), /bad zip archive: no end-of-central-directory record/],
    ['zip: directory offset out of range', () => {
      const z = zipToBytes(buildZip(torchZipEntries(W)));
      new DataView(z.buffer).setUint32(z.length - 22 + 16, z.length, true);
      return z;
    }, /bad zip archive: central directory \(offset \d+, \d+ bytes\) lies outside the file/],
    ['zip: directory claims too many entries', () => {
      const z = zipToBytes(buildZip(torchZipEntries(W)));
      new DataView(z.buffer).setUint16(z.length - 22 + 10, 0xfffe, true);
      return z;
    }, /claims 65534 entries but holds only \d+ bytes/],
    ['zip: local header offset lies', () => {
      const z = zipToBytes(buildZip(torchZipEntries(W)));
      new DataView(z.buffer).setUint32(centralRecord(z, 'archive/data.pkl') + 42, 7, true);
      return z;
    }, /entry "archive\/data.pkl" has no local header at offset 7/],
    ['torch: storage offset beyond the storage', () => zipToBytes(buildZip([
      { name: 'archive/data.pkl', data: oneTensorPickle(6, 5, [2, 3], [3, 1]) }, { name: 'archive/data/0', data: f32bytes(6) },
    ])), /tensor "t": offset 5, shape \[2,3\], stride \[3,1\] reach past its storage \(6 elements\)/],
    ['torch: pickle declares more storage than the entry holds', () => zipToBytes(buildZip([
      { name: 'archive/data.pkl', data: oneTensorPickle(1000, 0, [6], [1]) }, { name: 'archive/data/0', data: f32bytes(6) },
    ])), /storage 0 holds 24 bytes, the pickle declares 1000 × F32/],
    ['torch: huge broadcast shape over a tiny storage', () => zipToBytes(buildZip([
      { name: 'archive/data.pkl', data: oneTensorPickle(6, 0, [2 ** 20, 2 ** 20], [0, 0]) }, { name: 'archive/data/0', data: f32bytes(6) },
    ])), /shape \[1048576,1048576\] is larger than the whole file/],
    ['torch: unknown storage type', () => {
      const pkl = String.fromCharCode(...oneTensorPickle(6, 0, [6], [1])).replace('FloatStorage', 'EvilxStorage');
      return zipToBytes(buildZip([{ name: 'archive/data.pkl', data: Uint8Array.from(pkl, (c) => c.charCodeAt(0)) }, { name: 'archive/data/0', data: f32bytes(6) }]));
    }, /unsupported storage type global torch\.EvilxStorage/],
  ])('%s', async (_, make, re) => {
    expect(await failure(make())).toMatch(re);
  });

  it('a stored entry whose two sizes differ is refused instead of reading into the next entry', async () => {
    const z = zipToBytes(buildZip([
      { name: 'archive/data.pkl', data: oneTensorPickle(12, 0, [12], [1]) }, { name: 'archive/data/0', data: f32bytes(6) },
      { name: 'archive/version', data: new TextEncoder().encode('3\n') },
    ]));
    new DataView(z.buffer).setUint32(centralRecord(z, 'archive/data/0') + 24, 48, true); // uncompressed size 24 → 48
    expect(await failure(z)).toMatch(/stored entry "archive\/data\/0" claims 48 bytes but holds 24/);
  });

  it('a deflated pickle with an impossible size is refused before its output is allocated', async () => {
    const entries = Object.fromEntries(torchZipEntries(W).map((e) => [e.name, [e.data!, { level: e.name.endsWith('.pkl') ? 6 : 0 }]])) as Record<string, [Uint8Array, { level: 0 | 6 }]>;
    const z = zipSync(entries);
    new DataView(z.buffer).setUint32(centralRecord(z, 'archive/data.pkl') + 24, 400 << 20, true); // claims 400 MiB
    expect(await failure(z)).toMatch(/claims 419430400 bytes from \d+ compressed bytes, more than deflate can expand/);
  });
});

describe('pickles that unfold exponentially', () => {
  it('toPlain stops at its node budget on a list shared 2^20 times over', () => {
    // x0 = []; x(k+1) = (xk, xk) via the memo: 20 levels unfold into 2^21 values (60 would never finish).
    const p = new PickleWriter().op(0x5d).op(0x71, 0);
    for (let k = 1; k <= 20; k++) p.op(0x68, k - 1).op(0x68, k - 1).op(0x86).op(0x71, k).op(0x30, 0x68, k);
    const v = unpickle(p.op(0x2e).bytes(), { file: 'dag.pkl' });
    const json = JSON.stringify(toPlain(v));
    expect(json).toContain('[…]');
    expect(json.length).toBeLessThan(1_000_000);
  });

  it('toPlain stops on one big list referenced many times (the work counts leaves too)', () => {
    const big = Array.from({ length: 200_000 }, (_, i) => i);
    const t0 = performance.now();
    const json = JSON.stringify(toPlain(new Array(2000).fill(big)));
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(json.length).toBeLessThan(2_000_000);
    expect(toPlain([1, [2, 3]], 4)).toEqual([1, [2, '[…]']]);
  });
});

describe('pickled dict(...) calls', () => {
  it('keep their items (dict of pairs, dict of a dict) instead of an empty dict', () => {
    const pairs = new PickleWriter().global('builtins', 'dict').op(0x5d).mark().str('a').int(1).op(0x86).str('b').int(2).op(0x86).op(0x65).op(0x85, 0x52);
    expect(unpickle(pairs.op(0x2e).bytes(), { file: 'd.pkl' })).toEqual(new Map<string, number>([['a', 1], ['b', 2]]));
    const nested = new PickleWriter().global('__builtin__', 'dict').op(0x7d).str('x').int(3).op(0x73).op(0x85, 0x52);
    expect(unpickle(nested.op(0x2e).bytes(), { file: 'd.pkl' })).toEqual(new Map([['x', 3]]));
  });
});

describe('HTTP sources', () => {
  async function serve(handler: Parameters<typeof createServer>[1], fn: (url: string) => Promise<void>): Promise<void> {
    const server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/w.safetensors`);
    } finally {
      server.close();
    }
  }
  const bytes = encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) }]);
  it('a server that ignores Range is downloaded once and read from memory', async () => {
    let requests = 0;
    await serve((_, res) => void (requests++, res.end(Buffer.from(bytes))), async (url) => {
      const st = await openSafetensors(await urlSource(url));
      expect(Array.from((await st.read(st.entries[0])).data as Float32Array)).toEqual([1, 2, 3]);
    });
    expect(requests).toBe(1);
  });
  it('an HTTP error or a Range answer without a total size names the URL', async () => {
    await serve((_, res) => void res.writeHead(404, 'Not Found').end(), async (url) => {
      await expect(urlSource(url)).rejects.toThrow(new RegExp(`^${url.replace(/[.]/g, '\\.')}: HTTP 404 Not Found$`));
    });
    await serve((_, res) => void res.writeHead(206, { 'content-range': 'bytes 0-0/*' }).end('x'), async (url) => {
      await expect(urlSource(url)).rejects.toThrow(/w\.safetensors: the server answered a Range request without a total size/);
    });
  });
});

describe('write failures and CLI robustness', () => {
  it('convert into a missing directory is a clear error naming the output, without a stack', async () => {
    const out = join(dir, 'no', 'such', 'dir', 'x.safetensors');
    const err = await quiet(() => run([join(FIXTURES, 'xlsr-fairseq.pt'), out])).catch((e: unknown) => e);
    expect((err as { userFacing?: boolean }).userFacing).toBe(true);
    expect((err as Error).message).toMatch(/^\/.*\/no\/such\/dir\/x\.safetensors: cannot write the output \(ENOENT/);
  });

  it('ignores a config.json next to IN that is not a wav2vec2 config, and uses one that is', async () => {
    const d = join(dir, 'cfg');
    mkdirSync(d);
    copyFileSync(join(FIXTURES, 'hf', 'pytorch_model.bin'), join(d, 'pytorch_model.bin'));
    writeFileSync(join(d, 'config.json'), JSON.stringify({ lr: 0.001, hidden_act: 'relu' }));
    const a = await quiet(() => run([join(d, 'pytorch_model.bin'), join(d, 'a.safetensors')]));
    expect(a.value).toBe(0);
    expect(a.out).toMatch(/ignoring .*config\.json: not a Hugging Face wav2vec2 config/);
    expect(a.out).toMatch(/config from tensor shapes/);
    copyFileSync(join(FIXTURES, 'hf', 'config.json'), join(d, 'config.json'));
    const b = await quiet(() => run([join(d, 'pytorch_model.bin'), join(d, 'b.safetensors')]));
    expect(b.out).toMatch(/config from .*config\.json/);
  });

  it('the report of a file with no known tensors has no empty config line', async () => {
    const bytes = zipToBytes(buildZip(torchZipEntries(W)));
    const err = await loadWeights(bufferSource(bytes, 'odd.pt')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoadError);
    const text = formatLoadReport((err as LoadError).report);
    expect(text).toMatch(/^odd\.pt: torch-zip/);
    expect(text).not.toMatch(/config from\s*$/m);
  });
});

describe('browser safety', () => {
  const ioDir = fileURLToPath(new URL('../../models/io/', import.meta.url));
  it('no Node-only import or global outside *.node.ts', () => {
    for (const f of readdirSync(ioDir).filter((n) => n.endsWith('.ts') && !n.endsWith('.node.ts'))) {
      const code = readFileSync(join(ioDir, f), 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
      expect(code, f).not.toMatch(/from '(node:|fs|path|os|url|zlib|child_process|worker_threads)/);
      expect(code, f).not.toMatch(/\b(Buffer|process|require|__dirname)\b/);
    }
  });
  it('models/io/index.ts bundles for the browser', async () => {
    const r = await build({ entryPoints: [join(ioDir, 'index.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    expect(r.errors).toEqual([]);
    expect(r.outputFiles[0].text).toContain('blobSource');
  });
});
