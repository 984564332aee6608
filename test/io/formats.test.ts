// safetensors read/write, byte sources, zip container details and the pickle interpreter.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import {
  blobSource, bufferSource, DTYPES, encodeSafetensors, f16ToF32, f32ToF16, openCheckpoint, openSafetensors, PyObject, pyGet,
  toPlain, unpickle, urlSource, type HostTensor, type TensorData,
} from '../../models/io/index.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { writeSafetensorsFile } from '../../models/io/safetensors-write.node.ts';
import { buildZip, PickleWriter, torchZipEntries, zipToBytes } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'spoofscan-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sample(): HostTensor[] {
  const data: Record<string, TensorData> = {
    F64: Float64Array.of(1.5, -2), F32: Float32Array.of(0.1, 2, 3, 4, 5, 6), F16: Uint16Array.of(0x3c00, 0xc000),
    BF16: Uint16Array.of(0x3f80), I64: BigInt64Array.of(-(2n ** 60n), 7n), I32: Int32Array.of(-5, 6), I16: Int16Array.of(-7),
    I8: Int8Array.of(-8, 9, 10), U8: Uint8Array.of(255), BOOL: Uint8Array.of(1, 0),
  };
  const t = DTYPES.map((d) => ({ name: `t.${d}`, dtype: d, shape: [data[d].length], data: data[d] }));
  t[1].shape = [2, 3];
  t.push({ name: 'scalar', dtype: 'I64', shape: [], data: BigInt64Array.of(3n) }, { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) });
  return t;
}

describe('safetensors', () => {
  it('round-trips every dtype, scalars, empty tensors and metadata', async () => {
    const bytes = encodeSafetensors(sample(), { format: 'pt', note: 'ünïcode' });
    const st = await openSafetensors(bufferSource(bytes, 'mem.safetensors'));
    expect(st.metadata).toEqual({ format: 'pt', note: 'ünïcode' });
    for (const want of sample()) {
      const got = await st.read(st.entries.find((e) => e.name === want.name)!);
      expect(got).toEqual(want);
    }
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
  });

  it('writes files atomically and leaves the old file when a write fails', async () => {
    const path = join(dir, 'out.safetensors');
    await writeSafetensorsFile(path, sample(), { a: 'b' });
    const first = readFileSync(path);
    expect(Buffer.compare(first, Buffer.from(encodeSafetensors(sample(), { a: 'b' })))).toBe(0);
    const bad = [{ name: 'x', dtype: 'F32' as const, shape: [4], data: async () => { throw new Error('disk on fire'); } }];
    await expect(writeSafetensorsFile(path, bad)).rejects.toThrow('disk on fire');
    const short = [{ name: 'x', dtype: 'F32' as const, shape: [4], data: new Float32Array(3) }];
    await expect(writeSafetensorsFile(path, short)).rejects.toThrow(/12 bytes of data, shape needs 16/);
    expect(Buffer.compare(readFileSync(path), first)).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reads lazily through file, Blob and HTTP Range sources', async () => {
    const bytes = encodeSafetensors(sample());
    const path = join(dir, 'lazy.safetensors');
    writeFileSync(path, bytes);
    const server = createServer((req, res) => {
      const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
      if (!m) return void res.end(Buffer.from(bytes));
      const [a, b] = [Number(m[1]), Math.min(Number(m[2]), bytes.length - 1)];
      res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${bytes.length}` }).end(Buffer.from(bytes.subarray(a, b + 1)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m.safetensors`;
    try {
      const file = await fileSource(path);
      for (const src of [file, blobSource(new Blob([bytes.slice()]), 'blob'), await urlSource(url)]) {
        const st = await openSafetensors(src);
        expect(await st.read(st.entries.find((e) => e.name === 't.I64')!)).toEqual(sample()[4]);
      }
      await file.close();
    } finally {
      server.close();
    }
  });

  it.each([
    ['header length larger than the file', (b: Uint8Array) => new DataView(b.buffer).setBigUint64(0, 10n ** 12n, true), /header length 1000000000000 does not fit/],
    ['truncated data', (b: Uint8Array) => b.subarray(0, b.length - 1), /lie outside the data section/],
  ])('rejects %s', async (_, mutate, re) => {
    let b: Uint8Array = encodeSafetensors(sample()).slice();
    b = (mutate(b) as Uint8Array | undefined) ?? b;
    await expect(openSafetensors(bufferSource(b, 'bad.safetensors'))).rejects.toThrow(re);
  });
});

describe('half precision', () => {
  it('f16 → f32 → f16 is the identity on every non-NaN pattern', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((h) => (h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0);
    expect(Array.from(f32ToF16(f16ToF32(all)))).toEqual(Array.from(all));
    expect(Array.from(f16ToF32(Uint16Array.of(0x0001, 0x7bff, 0xfc00)))).toEqual([2 ** -24, 65504, -Infinity]);
  });
});

describe('zip container', () => {
  const tensors = [{ name: 'w', dtype: 'F32' as const, shape: [2, 2], data: new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer) }];
  it('reads zip64 archives', async () => {
    const ck = await openCheckpoint(bufferSource(zipToBytes(buildZip(torchZipEntries(tensors), { zip64: true })), 'z64.pt'));
    expect(Array.from((await ck.tensors[0].read()).data as Float32Array)).toEqual([1, 2, 3, 4]);
  });
  it('inflates a deflated pickle but refuses deflated tensor data', async () => {
    const entries = Object.fromEntries(torchZipEntries(tensors).map((e) => [e.name, [e.data!, { level: e.name.endsWith('.pkl') ? 6 : 0 }]])) as Record<string, [Uint8Array, { level: 0 | 6 }]>;
    const ok = await openCheckpoint(bufferSource(zipSync(entries), 'deflated.pt'));
    expect(ok.tensors[0].shape).toEqual([2, 2]);
    for (const k of Object.keys(entries)) entries[k][1].level = 6;
    const ck = await openCheckpoint(bufferSource(zipSync(entries), 'allz.pt'));
    await expect(ck.tensors[0].read()).rejects.toThrow(/allz\.pt: tensor "w": its storage entry archive\/data\/0 is compressed/);
  });
  it('finds the state dict under a fairseq-style "model" key and any root name', async () => {
    const ck = await openCheckpoint(bufferSource(zipToBytes(buildZip(torchZipEntries(tensors, { root: 'xlsr2_300m', wrapKey: 'model' }))), 'fq.pt'));
    expect(ck.stateDictKey).toBe('model');
    expect(ck.tensors.map((t) => t.name)).toEqual(['w']);
  });
});

describe('pickle interpreter', () => {
  const run = (p: PickleWriter) => unpickle(p.op(0x2e).bytes(), { file: 'test.pkl' });
  it('builds argparse.Namespace and omegaconf objects as data, calling nothing', () => {
    // Namespace(dropout=0.1): NEWOBJ + BUILD(__dict__)
    const ns = run(new PickleWriter().global('argparse', 'Namespace').op(0x29, 0x81).op(0x7d).str('dropout').op(0x47, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a).op(0x73, 0x62));
    expect(ns).toBeInstanceOf(PyObject);
    expect(pyGet(new Map([['args', ns]]), 'args')).toEqual(new Map([['dropout', 0.1]]));
    // DictConfig({'model': AnyNode(_val=3)}) as omegaconf pickles it: state dicts with _content / _val
    const node = new PickleWriter().global('omegaconf.nodes', 'AnyNode').op(0x29, 0x81).op(0x7d).str('_val').int(3).op(0x73, 0x62);
    const p = new PickleWriter().global('omegaconf.dictconfig', 'DictConfig').op(0x29, 0x81).op(0x7d).str('_content').op(0x7d).str('layers');
    const bytes = node.bytes().subarray(2);
    for (const b of bytes) p.op(b);
    const cfg = run(p.op(0x73, 0x73, 0x62));
    expect(toPlain(cfg)).toEqual({ layers: 3 });
  });
  it('keeps a call to os.system as an inert record', () => {
    const v = run(new PickleWriter().global('os', 'system').str('touch /tmp/x').op(0x85, 0x52));
    expect(v).toBeInstanceOf(PyObject);
    expect((v as PyObject).className).toBe('os.system');
    expect((v as PyObject).args).toEqual(['touch /tmp/x']);
    expect(existsSync('/tmp/x')).toBe(false);
  });
  it('decodes ints, longs, floats, strings, bytes, sets and memo references', () => {
    const v = run(
      new PickleWriter().op(0x5d).op(0x71, 1).mark()
        .int(-5).int(300).int(2 ** 40).int(-(2 ** 60)).op(0x8c, 2, 0x68, 0x69).op(0x43, 2, 1, 2).op(0x8f).op(0x28).int(1).op(0x90)
        .op(0x88, 0x89, 0x4e).op(0x68, 1).op(0x65),
    ) as unknown[];
    expect(v.slice(0, 8)).toEqual([-5, 300, 2 ** 40, -(2n ** 60n), 'hi', Uint8Array.of(1, 2), new Set([1]), true]);
    expect(v[8]).toBe(false);
    expect(v[9]).toBe(null);
    expect(v[10]).toBe(v); // self-reference through the memo
    expect(toPlain(v)).toContain('[…]');
  });
  it.each([
    [[0x80, 2, 0xff, 0x2e], /unknown pickle opcode 0xff at byte 2 of pickle/],
    [[0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f], /unexpected end of data/],
    [[0x80, 2, 0x68, 9, 0x2e], /memo key 9 was never stored/],
    [[0x80, 2, 0x2e], /stack underflow/],
    [[0x80, 2, 0x4e, 0x51, 0x2e], /persistent id without a storage loader/],
  ])('rejects malformed pickle %#', (bytes, re) => {
    expect(() => unpickle(Uint8Array.from(bytes), { file: 'bad.pkl' })).toThrow(re);
    expect(() => unpickle(Uint8Array.from(bytes), { file: 'bad.pkl' })).toThrow(/^bad\.pkl: corrupt or unsupported checkpoint/);
  });
});
