// Full-size layouts, synthesised cheaply as sparse files (header/pickle written, tensor data left as holes):
// every tensor of the published XLS-R 300M and Nes2Net-LA key lists maps, the counts match the specs, and
// tensors are read one byte range at a time, never the whole file.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ByteSource } from '../../models/io/index.ts';
import { DTYPE_SIZE, loadWeights, planSafetensors } from '../../models/io/index.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import type { SynthTensor } from './helpers.ts';
import { buildZip, torchZipEntries, writeSparse } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'spoofscan-fullsize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** XLS-R 300M pre-trained checkpoint keys and shapes, written out from spec model-xlsr.md §6 (fairseq names). */
function xlsr300mFairseq(): [string, number[]][] {
  const out: [string, number[]][] = [];
  const kernels = [10, 3, 3, 3, 3, 2, 2];
  kernels.forEach((k, i) => {
    out.push([`feature_extractor.conv_layers.${i}.0.weight`, [512, i ? 512 : 1, k]], [`feature_extractor.conv_layers.${i}.0.bias`, [512]]);
    out.push([`feature_extractor.conv_layers.${i}.2.1.weight`, [512]], [`feature_extractor.conv_layers.${i}.2.1.bias`, [512]]);
  });
  out.push(['layer_norm.weight', [512]], ['layer_norm.bias', [512]], ['post_extract_proj.weight', [1024, 512]], ['post_extract_proj.bias', [1024]]);
  out.push(['encoder.pos_conv.0.weight_g', [1, 1, 128]], ['encoder.pos_conv.0.weight_v', [1024, 64, 128]], ['encoder.pos_conv.0.bias', [1024]]);
  for (let l = 0; l < 24; l++) {
    const p = `encoder.layers.${l}.`;
    for (const m of ['q', 'k', 'v', 'out']) out.push([`${p}self_attn.${m}_proj.weight`, [1024, 1024]], [`${p}self_attn.${m}_proj.bias`, [1024]]);
    out.push([`${p}self_attn_layer_norm.weight`, [1024]], [`${p}self_attn_layer_norm.bias`, [1024]]);
    out.push([`${p}fc1.weight`, [4096, 1024]], [`${p}fc1.bias`, [4096]], [`${p}fc2.weight`, [1024, 4096]], [`${p}fc2.bias`, [1024]]);
    out.push([`${p}final_layer_norm.weight`, [1024]], [`${p}final_layer_norm.bias`, [1024]]);
  }
  out.push(['encoder.layer_norm.weight', [1024]], ['encoder.layer_norm.bias', [1024]], ['mask_emb', [1024]]);
  out.push(['quantizer.vars', [1, 640, 384]], ['quantizer.weight_proj.weight', [640, 512]], ['quantizer.weight_proj.bias', [640]]);
  out.push(['project_q.weight', [768, 768]], ['project_q.bias', [768]], ['final_proj.weight', [768, 1024]], ['final_proj.bias', [768]]);
  return out;
}

/** The same in Hugging Face Wav2Vec2ForPreTraining names. */
function xlsr300mHf(): [string, number[]][] {
  const rename: [RegExp, string][] = [
    [/^feature_extractor\.conv_layers\.(\d)\.0\./, 'wav2vec2.feature_extractor.conv_layers.$1.conv.'],
    [/^feature_extractor\.conv_layers\.(\d)\.2\.1\./, 'wav2vec2.feature_extractor.conv_layers.$1.layer_norm.'],
    [/^layer_norm\./, 'wav2vec2.feature_projection.layer_norm.'],
    [/^post_extract_proj\./, 'wav2vec2.feature_projection.projection.'],
    [/^encoder\.pos_conv\.0\./, 'wav2vec2.encoder.pos_conv_embed.conv.'],
    [/^encoder\.layers\.(\d+)\.self_attn\.(\w+)_proj\./, 'wav2vec2.encoder.layers.$1.attention.$2_proj.'],
    [/^encoder\.layers\.(\d+)\.self_attn_layer_norm\./, 'wav2vec2.encoder.layers.$1.layer_norm.'],
    [/^encoder\.layers\.(\d+)\.fc1\./, 'wav2vec2.encoder.layers.$1.feed_forward.intermediate_dense.'],
    [/^encoder\.layers\.(\d+)\.fc2\./, 'wav2vec2.encoder.layers.$1.feed_forward.output_dense.'],
    [/^encoder\./, 'wav2vec2.encoder.'],
    [/^mask_emb$/, 'wav2vec2.masked_spec_embed'],
    [/^quantizer\.vars$/, 'quantizer.codevectors'],
    [/^final_proj\./, 'project_hid.'],
  ];
  return xlsr300mFairseq().map(([n, s]) => {
    const r = rename.find(([re]) => re.test(n));
    return [r ? n.replace(r[0], r[1]) : n, s];
  });
}

/** MultiAPI-Spoof Nes2Net-LA back-end keys (spec model-nes2net-la.md §9), global_attn included. */
function nes2netLaMultiapi(): [string, number[]][] {
  const out: [string, number[]][] = [];
  const bn = (p: string, c: number) => out.push([`${p}.weight`, [c]], [`${p}.bias`, [c]], [`${p}.running_mean`, [c]], [`${p}.running_var`, [c]], [`${p}.num_batches_tracked`, []]);
  const P = 'Nested_Res2Net_TDNN.';
  for (let b = 0; b < 7; b++) {
    const p = `${P}Build_in_Res2Nets.${b}.`;
    out.push([`${p}conv1.weight`, [128, 128, 1]], [`${p}conv1.bias`, [128]]);
    bn(`${p}bn1`, 128);
    for (let j = 0; j < 7; j++) out.push([`${p}convs.${j}.weight`, [16, 16, 3, 1]], [`${p}convs.${j}.bias`, [16]]);
    for (let j = 0; j < 7; j++) bn(`${p}bns.${j}`, 16);
    for (let j = 0; j < 7; j++) out.push([`${p}weighted_sum.${j}`, [1, 1, 1, j + 2]]);
    out.push([`${p}conv3.weight`, [128, 128, 1]], [`${p}conv3.bias`, [128]]);
    bn(`${p}bn3`, 128);
    out.push([`${p}se.se.1.weight`, [128, 128, 1]], [`${p}se.se.1.bias`, [128]], [`${p}se.se.3.weight`, [128, 128, 1]], [`${p}se.se.3.bias`, [128]]);
  }
  for (let b = 0; b < 7; b++) bn(`${P}bns.${b}`, 128);
  bn(`${P}bn`, 1024);
  out.push([`${P}fc.weight`, [2, 1024]], [`${P}fc.bias`, [2]]);
  for (const m of ['q', 'k', 'v', 'out']) out.push([`${P}local_block_attn.proj_${m}.weight`, [128, 128]]);
  out.push([`${P}local_block_attn.pos_emb`, [8, 128]]);
  out.push([`${P}global_attn.in_proj_weight`, [3072, 1024]], [`${P}global_attn.in_proj_bias`, [3072]]);
  out.push([`${P}global_attn.out_proj.weight`, [1024, 1024]], [`${P}global_attn.out_proj.bias`, [1024]]);
  return out;
}

/** Wraps a source to record the largest single read and the bytes read in total. */
function recording(src: ByteSource) {
  const stats = { maxRead: 0, total: 0 };
  const wrapped: ByteSource = {
    name: src.name,
    size: src.size,
    async read(o, n) {
      stats.maxRead = Math.max(stats.maxRead, n);
      stats.total += n;
      return src.read(o, n);
    },
  };
  return { wrapped, stats };
}

const LARGEST = 1024 * 64 * 128 * 4; // pos-conv weight_v, 33.5 MB

describe('full-size XLS-R 300M', () => {
  it('Hugging Face model.safetensors layout: all 429 tensors accounted for, 315,437,696 used parameters', async () => {
    const specs = xlsr300mHf().map(([name, shape]) => ({ name, dtype: 'F32' as const, shape }));
    const plan = planSafetensors(specs, { format: 'pt' });
    const path = join(dir, 'model.safetensors');
    await writeSparse(path, [{ offset: 0, bytes: plan.header }], plan.totalSize);
    expect(plan.totalSize - plan.header.length).toBe(1_269_562_368); // spec model-xlsr.md §6.1: 317,390,592 × 4 B
    const file = await fileSource(path);
    const { wrapped, stats } = recording(file);
    try {
      const w = await loadWeights(wrapped);
      expect(w.report.mapped).toHaveLength(421);
      expect(w.report.skipped).toHaveLength(8);
      expect(w.report.params).toBe(315_437_696);
      expect(w.config.xlsr).toMatchObject({ layers: 24, dModel: 1024, ffnDim: 4096, heads: 16, posConvKernel: 128, posConvGroups: 16 });
      let floats = 0;
      for (const t of w.tensors) {
        const d = await t.read();
        floats += d.data.length;
        expect(d.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
      }
      expect(floats).toBe(315_437_696);
    } finally {
      await file.close();
    }
    expect(stats.maxRead).toBe(LARGEST);
    expect(stats.total).toBeLessThan(statSync(path).size);
  });

  it('MultiAPI-Spoof Nes2Net-LA .pth layout (DDP, zip): every key maps or is skipped on purpose', async () => {
    const keys = [...xlsr300mFairseq().map(([n, s]) => [`module.ssl_model.model.${n}`, s] as const), ...nes2netLaMultiapi().map(([n, s]) => [`module.${n}`, s] as const)];
    const tensors: SynthTensor[] = keys.map(([name, shape]) => ({ name, dtype: name.endsWith('num_batches_tracked') ? 'I64' : 'F32', shape: [...shape] }));
    const stored = tensors.filter((t) => !/running_|num_batches/.test(t.name)).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    expect(stored).toBe(322_167_591); // spec model-nes2net-la.md §8: whole stored model
    const z = buildZip(torchZipEntries(tensors, { root: 'epoch_5_1.422' }));
    const path = join(dir, 'epoch_5_1.422.pth');
    await writeSparse(path, z.parts, z.size);
    const file = await fileSource(path);
    const { wrapped, stats } = recording(file);
    try {
      const w = await loadWeights(wrapped);
      expect(w.config.arch).toBe('xlsr-nes2net');
      expect(w.config.nes2net).toMatchObject({ inputDim: 1024, nesRatio: [8, 8], seRatio: 1, nOut: 2 });
      expect(w.report.params).toBe(315_437_696 + 578_599);
      expect(w.report.skipped).toHaveLength(8 + 4);
      expect(w.report.unexpected).toEqual([]);
      expect(w.tensors).toHaveLength(tensors.length - 12);
      for (const t of w.tensors) {
        const d = await t.read();
        expect(d.data.byteLength).toBe(t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[t.dtype]);
      }
    } finally {
      await file.close();
    }
    expect(stats.maxRead).toBe(LARGEST);
  });
});
