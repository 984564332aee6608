// The Python-generated checkpoints in every published layout: every tensor compared bit for bit with the
// values the generator stored, names mapped as the generator states independently, configs read.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileSource } from '../../models/io/file-source.node.ts';
import {
  bytesOf, CheckpointError, f32ToBf16, f32ToF16, loadWeights, openCheckpoint, PyObject, toFloat32,
  type Checkpoint,
} from '../../models/io/index.ts';
import { modelParams } from '../../models/config.ts';
import { countParams } from '../../models/param-spec.ts';
import { FIXTURES, loadExpected, type ExpectedManifest } from './helpers.ts';

let manifest: ExpectedManifest;
let blob: Uint8Array;
beforeAll(async () => {
  ({ manifest, blob } = await loadExpected());
});

async function withCheckpoint<T>(file: string, fn: (ck: Checkpoint) => Promise<T>): Promise<T> {
  const src = await fileSource(join(FIXTURES, file));
  try {
    return await fn(await openCheckpoint(src));
  } finally {
    await src.close();
  }
}

function expectedBytes(key: string): Uint8Array {
  const e = manifest.tensors[key];
  expect(e, `expected values for ${key}`).toBeDefined();
  return blob.subarray(e.offset, e.offset + e.nbytes);
}

const hfConfig = () => JSON.parse(readFileSync(join(FIXTURES, 'hf', 'config.json'), 'utf8'));
const LAYOUTS = ['xlsr-fairseq.pt', 'xlsr-fairseq-args.pt', 'nes2net-la-ddp.pth', 'hf/pytorch_model.bin', 'hf/model.safetensors'];

describe.each(LAYOUTS)('%s', (file) => {
  it('holds exactly the generated tensors, bit for bit', async () => {
    await withCheckpoint(file, async (ck) => {
      const map = manifest.fixtures[file];
      expect(ck.tensors.map((t) => t.name).sort()).toEqual(Object.keys(map).sort());
      for (const t of ck.tensors) {
        const key = map[t.name]; // skipped tensors (pre-training heads, global_attn) are stored as 'skip:<name>'
        const data = await t.read();
        const want = expectedBytes(key);
        const got = t.dtype === 'I64' ? bytesOf(data.data) : bytesOf(toFloat32(data));
        expect(Buffer.compare(Buffer.from(got), Buffer.from(want)), `${file}: ${t.name}`).toBe(0);
        expect(data.shape).toEqual(manifest.tensors[key].shape);
      }
    });
  });

  it('maps every tensor to the canonical name the generator states', async () => {
    const src = await fileSource(join(FIXTURES, file));
    try {
      const w = await loadWeights(src, file.startsWith('hf/') ? { hfConfig: hfConfig() } : {});
      const map = manifest.fixtures[file];
      const wantMapped = Object.entries(map).filter(([, c]) => !c.startsWith('skip:'));
      expect(w.report.mapped.map((m) => [m.source, m.name]).sort()).toEqual(wantMapped.sort());
      expect(w.report.skipped.map((s) => s.source).sort()).toEqual(Object.keys(map).filter((k) => map[k].startsWith('skip:')).sort());
      expect(w.report.unexpected).toEqual([]);
      expect(w.report.missing).toEqual([]);
      expect(w.report.mismatched).toEqual([]);
      expect(w.tensors.length).toBe(modelParams(w.config).length);
      expect(w.report.params).toBe(countParams(modelParams(w.config)));
      // canonical reads return float32 and float16 exactly (the generator rounded every value to bf16)
      for (const t of w.tensors) {
        const want = expectedBytes(t.name);
        const f32 = await t.read('F32');
        expect(f32.name).toBe(t.name);
        if (f32.dtype === 'I64') expect(Buffer.from(bytesOf(f32.data)).equals(Buffer.from(want))).toBe(true);
        else {
          expect(Buffer.from(bytesOf(f32.data)).equals(Buffer.from(want)), t.name).toBe(true);
          const f16 = await t.read('F16');
          expect(f16.dtype).toBe('F16');
          expect(Array.from(f16.data as Uint16Array)).toEqual(Array.from(f32ToF16(new Float32Array(want.slice().buffer))));
        }
      }
    } finally {
      await src.close();
    }
  });
});

describe('model configuration', () => {
  it('reads fairseq cfg.model and cfg.task', async () => {
    const src = await fileSource(join(FIXTURES, 'xlsr-fairseq.pt'));
    const w = await loadWeights(src);
    await src.close();
    const want = manifest.configs['xlsr-fairseq.pt'];
    expect(w.report.configSource).toBe('fairseq cfg.model');
    expect(w.report.stateDictKey).toBe('model');
    expect(w.config.arch).toBe('xlsr');
    expect(w.config.xlsr).toMatchObject({
      layers: want.encoder_layers, dModel: want.encoder_embed_dim, ffnDim: want.encoder_ffn_embed_dim,
      heads: want.encoder_attention_heads, posConvKernel: want.conv_pos, posConvGroups: want.conv_pos_groups,
      dropout: want.dropout, attentionDropout: want.attention_dropout, activationDropout: want.activation_dropout,
      layerdrop: want.encoder_layerdrop, dropoutInput: want.dropout_input, dropoutFeatures: want.dropout_features,
      featureGradMult: want.feature_grad_mult, taskNormalize: true, convBias: true,
      convLayers: [[32, 10, 5], [32, 3, 2], [32, 3, 2], [32, 3, 2], [32, 3, 2], [32, 2, 2], [32, 2, 2]],
    });
    expect(countParams(modelParams(w.config))).toBe(103_088);
  });

  it('reads a legacy argparse.Namespace in args', async () => {
    const src = await fileSource(join(FIXTURES, 'xlsr-fairseq-args.pt'));
    const w = await loadWeights(src);
    await src.close();
    expect(w.report.configSource).toBe('fairseq args');
    expect(w.config.xlsr).toMatchObject({ layers: 2, dModel: 64, heads: 4, dropout: 0, attentionDropout: 0.05, taskNormalize: false });
  });

  it('reads config.json for Hugging Face files', async () => {
    const src = await fileSource(join(FIXTURES, 'hf', 'pytorch_model.bin'));
    const w = await loadWeights(src, { hfConfig: hfConfig(), hfConfigFile: 'config.json' });
    await src.close();
    expect(w.report.configSource).toBe('config.json');
    expect(w.config.xlsr).toMatchObject({ heads: 4, dropout: 0.1, attentionDropout: 0.1, layerdrop: 0.1, layers: 2 });
  });

  it('infers Nes2Net-LA (tiny-A) from a bare DDP state dict', async () => {
    const src = await fileSource(join(FIXTURES, 'nes2net-la-ddp.pth'));
    const w = await loadWeights(src);
    await src.close();
    expect(w.report.configSource).toBe('tensor shapes');
    expect(w.report.layout).toEqual(['multiapi']);
    expect(w.config.arch).toBe('xlsr-nes2net');
    expect(w.config.nes2net).toMatchObject({ inputDim: 64, nesRatio: [8, 8], kernel: 3, dilation: 2, seRatio: 1, nOut: 2 });
    expect(w.config.nes2net?.la).not.toBeNull();
    expect(w.report.params).toBe(103_088 + 3_469);
    expect(w.report.skipped.filter((s) => s.source.includes('global_attn'))).toHaveLength(4);
    expect(w.report.notes.join('\n')).toMatch(/inferred from tensor shapes/);
  });

  it('rejects a layout that does not fit, listing the tensors', async () => {
    const src = await fileSource(join(FIXTURES, 'xlsr-fairseq.pt'));
    const err = await loadWeights(src, { overrides: { xlsr: { layers: 3, ffnDim: 256 } } }).catch((e: unknown) => e);
    await src.close();
    expect(err).toBeInstanceOf(CheckpointError);
    const msg = (err as Error).message;
    expect(msg).toContain('xlsr-fairseq.pt');
    expect(msg).toMatch(/missing \d+ required tensor\(s\): xlsr\.layers\.2\./);
    expect(msg).toMatch(/encoder\.layers\.0\.fc1\.weight is F16 \[128,64\], expected float \[256,64\]/);
  });
});

describe('PyTorch storage details (dtypes.pt)', () => {
  it('reads every storage type, strided views, shared storage and scalars', async () => {
    await withCheckpoint('dtypes.pt', async (ck) => {
      const byName = new Map(ck.tensors.map((t) => [t.name, t]));
      for (const [name, want] of Object.entries(manifest.dtypes)) {
        const t = await byName.get(name)!.read();
        expect(t.shape, name).toEqual(want.shape);
        if (want.bits) {
          const got = t.dtype === 'F32' ? Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)) : Array.from(t.data as Uint16Array);
          expect(got, name).toEqual(want.bits);
        } else if (t.dtype === 'I64') expect(Array.from(t.data as BigInt64Array, String), name).toEqual(want.values);
        else expect(Array.from(t.data as Float64Array, Number), name).toEqual(want.values);
      }
      expect((await byName.get('bool')!.read()).dtype).toBe('BOOL');
      expect((await byName.get('f64')!.read()).dtype).toBe('F64');
    });
  });

  it('rounds float32 to float16 and bfloat16 exactly as PyTorch does', () => {
    const src = new Float32Array(new Uint32Array(manifest.dtypes.round_src.bits!).buffer);
    expect(Array.from(f32ToF16(src))).toEqual(manifest.dtypes.round_f16.bits);
    expect(Array.from(f32ToBf16(src))).toEqual(manifest.dtypes.round_bf16.bits);
  });

  it('refuses the legacy (pre-1.6) format with a clear message', async () => {
    const src = await fileSource(join(FIXTURES, 'legacy.pt'));
    await expect(openCheckpoint(src)).rejects.toThrow(/legacy.pt: this is a legacy \(pre-1\.6, non-zip\) PyTorch checkpoint/);
    await src.close();
  });
});

describe('pickle safety', () => {
  const dir = '/tmp/spoofscan-pickle-safety';
  // protocol 2 spells Python 3 names the Python 2 way (builtins → __builtin__, subprocess → commands)
  it.each(['system', 'open', 'eval', 'subprocess'])('a payload calling %s loads as inert data and runs nothing', async (kind) => {
    rmSync(dir, { recursive: true, force: true });
    await withCheckpoint(`evil-${kind}.pt`, async (ck) => {
      expect(ck.tensors.map((t) => t.name)).toEqual(['weight']);
      expect(ck.nonTensors).toEqual(['payload']);
      const payload = (ck.root as Map<string, unknown>).get('payload');
      expect(payload).toBeInstanceOf(PyObject);
      const p = payload as PyObject;
      expect(p.className).toMatch(/^(posix\.system|io\.open|__builtin__\.eval|commands\.Popen)$/);
      expect(JSON.stringify(p.args)).toContain(dir);
      expect(Array.from(toFloat32(await ck.tensors[0].read()))).toEqual([1, 1]);
    });
    expect(existsSync(dir)).toBe(false);
  });
});
