// `spoofscan features`: the safetensors it writes holds, per input file, exactly what the model computes (its own
// forward, and PyTorch's goldens for the fixture input), with the documented names, shapes, frame counts and
// metadata; bad input gives clear errors and never a partial output file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { noGrad, tensor, tidy } from '../../engine/node.ts';
import { run } from '../../cli/commands/features.ts';
import { Detector } from '../../models/detector.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { XlsrModel } from '../../models/xlsr/index.ts';
import { captured, noise, readSafetensors, writeWav } from './features-helpers.ts';
import { g, loadTiny, relErr, TINY_CKPT } from './xlsr-helpers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DETECTOR = fileURLToPath(new URL('../fixtures/nes2net/detector-ddp.pth', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spoofscan-features-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

// Two files of different lengths: the fixture input of the PyTorch goldens (L 4000 → T 12) and L 6100 → T 18.
const A = g('a.wav').data;
const fileA = writeWav(dir, 'a.wav', Float32Array.from(A));
const fileB = writeWav(dir, 'b.wav', noise(6100, 7));
const frameCount = (L: number) => Math.floor((L - 400) / 320) + 1;

/** The model's own eval forward on one file: final, every raw layer output, and the input of layer 1. */
async function reference(model: XlsrModel, samples: Float32Array, normalize = false): Promise<{ x: Float32Array; layers: Float32Array[]; x0: Float32Array }> {
  const wav = tensor(samples, [1, samples.length]);
  try {
    const out = noGrad(() => model.forward(wav, { outputLayers: true, normalize }));
    const x0 = noGrad(() =>
      tidy(() => {
        const r = model.begin(wav, { normalize });
        const y = model.positional(model.featureEncoder(wav, r, { normalize }).y, r);
        model.end(r);
        return y;
      }),
    );
    const res = { x: (await out.x.data()) as Float32Array, layers: [] as Float32Array[], x0: (await x0.data()) as Float32Array };
    for (const l of out.layers!) res.layers.push((await l.data()) as Float32Array);
    for (const t of new Set([out.x, x0, ...out.layers!])) t.dispose();
    return res;
  } finally {
    wav.dispose();
  }
}

async function features(...args: string[]) {
  return captured(() => run(args));
}

describe('spoofscan features', () => {
  it('--layers all: names, shapes, T = ⌊(L−400)/320⌋+1, metadata, and values equal the model forward and PyTorch', async () => {
    const out = join(dir, 'all.safetensors');
    const r = await features('--model', TINY_CKPT, '--layers', 'all', '--out', out, fileA, fileB);
    expect(r.value).toBe(0);
    expect(r.stderr).toMatch(/mapped: 69 tensors, 103,088 parameters/); // the load report
    expect(r.stderr).toMatch(/features: 100% 2\/2 files/);
    expect(r.stdout).toMatch(/wrote .*all\.safetensors: 2 files, 30 frames, 8 tensors \[T, 64\] f32/);

    const f = await readSafetensors(out);
    const perFile = ['final', 'layer_00', 'layer_01', 'layer_02'];
    expect(f.names).toEqual([...perFile.map((n) => `0.${n}`), ...perFile.map((n) => `1.${n}`)]);
    for (const n of f.names) expect(f.shapes.get(n)).toEqual([n.startsWith('0.') ? frameCount(4000) : frameCount(6100), 64]);
    expect(frameCount(4000)).toBe(12);
    expect(frameCount(6100)).toBe(18);

    expect(f.metadata.format).toBe('spoofscan-features');
    expect(f.metadata['spoofscan.layers']).toBe('all');
    expect(f.metadata['spoofscan.normalize']).toBe('false');
    expect(f.metadata['spoofscan.model']).toBe('pytorch_model.bin');
    expect(JSON.parse(f.metadata['spoofscan.inputs'])).toEqual([
      { prefix: '0.', file: fileA, samples: 4000, frames: 12 },
      { prefix: '1.', file: fileB, samples: 6100, frames: 18 },
    ]);

    const model = await loadTiny();
    try {
      expect(JSON.parse(f.metadata['spoofscan.xlsr_config'])).toEqual(JSON.parse(JSON.stringify(model.config)));
      for (const [i, samples] of [A, noise(6100, 7)].entries()) {
        const ref = await reference(model, samples);
        const get = (n: string) => f.data.get(`${i}.${n}`)!;
        expect(relErr(get('final'), ref.x), `${i}.final`).toBeLessThan(1e-6);
        expect(relErr(get('layer_00'), ref.x0), `${i}.layer_00`).toBeLessThan(1e-6);
        expect(relErr(get('layer_01'), ref.layers[0]), `${i}.layer_01`).toBeLessThan(1e-6);
        expect(relErr(get('layer_02'), ref.layers[1]), `${i}.layer_02`).toBeLessThan(1e-6);
        // layer_NN is the raw last layer; final adds the final LayerNorm (pre-LN), so they differ.
        expect(relErr(get('final'), get('layer_02'))).toBeGreaterThan(0.1);
      }
      // layer_00 is the input of encoder layer 1: running layer 0 of the model on it gives layer_01.
      const wav = tensor(A, [1, A.length]);
      const r0 = model.begin(wav);
      const x0 = tensor(f.data.get('0.layer_00')!, [1, 12, 64]);
      const l1 = noGrad(() => model.layer(0, x0, r0));
      expect(relErr((await l1.data()) as Float32Array, f.data.get('0.layer_01')!)).toBeLessThan(1e-5);
      for (const t of [wav, x0, l1]) t.dispose();
      model.end(r0);
    } finally {
      model.dispose();
    }
    // Against PyTorch (torchaudio, float64) on the same input: raw layer outputs and the final-LN output.
    expect(relErr(f.data.get('0.layer_01')!, g('a.layer0').data)).toBeLessThan(1e-4);
    expect(relErr(f.data.get('0.layer_02')!, g('a.layer1').data)).toBeLessThan(1e-4);
    expect(relErr(f.data.get('0.final')!, g('a.x').data)).toBeLessThan(1e-4);
  });

  it('default --layers final writes only <i>.final; --normalize normalises each file first', async () => {
    const plain = join(dir, 'final.safetensors');
    const norm = join(dir, 'norm.safetensors');
    expect((await features('--model', TINY_CKPT, '--out', plain, fileB)).value).toBe(0);
    expect((await features('--model', TINY_CKPT, '--normalize', '--out', norm, fileB)).value).toBe(0);
    const [p, n] = [await readSafetensors(plain), await readSafetensors(norm)];
    expect(p.names).toEqual(['0.final']);
    expect(p.metadata['spoofscan.layers']).toBe('final');
    expect(n.metadata['spoofscan.normalize']).toBe('true');
    const model = await loadTiny();
    try {
      const samples = noise(6100, 7);
      expect(relErr(p.data.get('0.final')!, (await reference(model, samples)).x)).toBeLessThan(1e-6);
      expect(relErr(n.data.get('0.final')!, (await reference(model, samples, true)).x)).toBeLessThan(1e-6);
      expect(relErr(n.data.get('0.final')!, p.data.get('0.final')!)).toBeGreaterThan(1e-3);
    } finally {
      model.dispose();
    }
  });

  it('a full detector checkpoint (MultiAPI-Spoof DDP .pth) uses its XLS-R part: final = the detector features', async () => {
    const out = join(dir, 'det.safetensors');
    const r = await features('--model', DETECTOR, '--out', out, fileA);
    expect(r.value).toBe(0);
    expect(r.stderr).toMatch(/using the XLS-R part of this xlsr-nes2net checkpoint/);
    const f = await readSafetensors(out);
    const src = await fileSource(DETECTOR);
    const { detector } = await Detector.open(src);
    await src.close();
    const wav = tensor(Float32Array.from(A), [1, A.length]);
    try {
      const feats = noGrad(() => tidy(() => detector.forward(wav).features));
      expect(relErr(f.data.get('0.final')!, (await feats.data()) as Float32Array)).toBeLessThan(1e-6);
      feats.dispose();
    } finally {
      wav.dispose();
      detector.dispose();
    }
  });

  it('flag errors are clear and happen before any work', async () => {
    const out = join(dir, 'never.safetensors');
    await expect(features('--out', out, fileA)).rejects.toThrow(/--model CKPT is required/);
    await expect(features('--model', TINY_CKPT, fileA)).rejects.toThrow(/--out OUT\.safetensors is required/);
    await expect(features('--model', TINY_CKPT, '--out', join(dir, 'x.npy'), fileA)).rejects.toThrow(/--out must end in \.safetensors/);
    await expect(features('--model', TINY_CKPT, '--out', out, '--layers', '12', fileA)).rejects.toThrow(/--layers must be final or all, not "12"/);
    await expect(features('--model', TINY_CKPT, '--out', out)).rejects.toThrow(/no audio file given/);
    await expect(features('--model', TINY_CKPT, '--out', out, '--bogus', fileA)).rejects.toThrow(/Unknown option '--bogus'/);
    const help = await features('--help');
    expect(help.value).toBe(0);
    expect(help.stdout).toMatch(/<i>\.layer_00 {3}input of the first encoder layer/);
    expect(existsSync(out)).toBe(false);
  });

  it('unreadable, missing or too-short audio names the file; an existing output is left untouched', async () => {
    const out = join(dir, 'keep.safetensors');
    writeFileSync(out, 'previous contents');
    const garbage = join(dir, 'garbage.wav');
    writeFileSync(garbage, 'this is not audio');
    const short = writeWav(dir, 'short.wav', noise(399, 3));
    await expect(features('--model', TINY_CKPT, '--out', out, fileA, garbage)).rejects.toThrow(/garbage\.wav: unrecognised audio format/);
    await expect(features('--model', TINY_CKPT, '--out', out, join(dir, 'missing.wav'))).rejects.toThrow(/missing\.wav: file not found/);
    await expect(features('--model', TINY_CKPT, '--out', out, fileA, dir)).rejects.toThrow(/spoofscan-features-\w+: a directory, not a regular file/);
    await expect(features('--model', TINY_CKPT, '--out', out, fileA, short)).rejects.toThrow(/short\.wav: too short: 399 samples at 16000 Hz .*XLS-R yields no frame below 400/);
    // 400 samples is the shortest input: one frame.
    const one = join(dir, 'one.safetensors');
    expect((await features('--model', TINY_CKPT, '--out', one, writeWav(dir, 'w400.wav', noise(400, 5)))).value).toBe(0);
    expect((await readSafetensors(one)).shapes.get('0.final')).toEqual([1, 64]);
    expect(readFileSync(out, 'utf8')).toBe('previous contents');
    await expect(features('--model', TINY_CKPT, '--out', join(dir, 'no-such-dir', 'o.safetensors'), fileA)).rejects.toThrow(
      /no-such-dir\/o\.safetensors: cannot write the output \(ENOENT/,
    );
  });

  it('a size limit hit in the forward pass names the file and its length; a failure mid-write leaves no output', async () => {
    const out = join(dir, 'limit.safetensors');
    writeFileSync(out, 'previous contents');
    const real = XlsrModel.prototype.transformer;
    let calls = 0;
    // The second file hits a (simulated) device limit after the first file's tensors were written.
    vi.spyOn(XlsrModel.prototype, 'transformer').mockImplementation(function (this: XlsrModel, ...a: Parameters<typeof real>) {
      if (++calls === 2) throw new Error("matmul: needs a 3000000000-byte buffer, larger than this adapter's maxBufferSize (268435456)");
      return real.apply(this, a);
    });
    await expect(features('--model', TINY_CKPT, '--out', out, fileA, fileB)).rejects.toThrow(
      /b\.wav: too long to process in one piece here \(6,100 samples = 0\.4 s, 18 frames\): .*maxBufferSize.*cut the file into shorter parts/,
    );
    expect(readFileSync(out, 'utf8')).toBe('previous contents');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    // Any other failure is a bug: it keeps its own message and stack (not a user error).
    vi.spyOn(XlsrModel.prototype, 'transformer').mockImplementation(() => {
      throw new Error('boom');
    });
    const err = await features('--model', TINY_CKPT, '--out', out, fileA).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('boom');
    expect((err as { userFacing?: boolean }).userFacing).toBeUndefined();
  });

  it('through bin/spoofscan.mjs: exit code 1 and the message without a stack for a too-short file', () => {
    const short = writeWav(dir, 'short2.wav', noise(120, 9));
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/spoofscan.mjs'), 'features', '--model', TINY_CKPT, '--out', join(dir, 'never2.safetensors'), short], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, SPOOFSCAN_QUIET: '1' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/spoofscan features: .*short2\.wav: too short: 120 samples/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
