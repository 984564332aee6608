// Canonical parameter lists: exact counts from the specs, and name mapping in both directions.
import { describe, expect, it } from 'vitest';
import { classify, fromCanonical, parseConvLayers, toCanonical } from '../../models/io/index.ts';
import { modelParams } from '../../models/config.ts';
import { NES2NET_LA, NES2NET_TINY_A, NES2NET_TINY_B, nes2netParams } from '../../models/nes2net/config.ts';
import { countParams } from '../../models/param-spec.ts';
import { TRACER, tracerParams } from '../../models/tracer/config.ts';
import { XLSR_300M, XLSR_TINY, xlsrParams } from '../../models/xlsr/config.ts';

describe('parameter counts (spec model-xlsr.md §6.1, §9; spec model-nes2net-la.md §8, §12, §13)', () => {
  it('XLS-R 300M backbone used downstream: 315,437,696 in 421 tensors', () => {
    const p = xlsrParams(XLSR_300M);
    expect(countParams(p)).toBe(315_437_696);
    expect(p.length).toBe(429 - 8); // the file's 429 minus mask_emb and the 7 pre-training head tensors
  });
  it('tiny XLS-R: 103,088', () => expect(countParams(xlsrParams(XLSR_TINY))).toBe(103_088));
  it('Nes2Net-LA back-end: 578,599 (Nes2Net-X 512,039)', () => {
    expect(countParams(nes2netParams(NES2NET_LA))).toBe(578_599);
    expect(countParams(nes2netParams({ ...NES2NET_LA, la: null }))).toBe(512_039);
  });
  it('tiny-A 3,469 and tiny-B 5,465', () => {
    expect(countParams(nes2netParams(NES2NET_TINY_A))).toBe(3_469);
    expect(countParams(nes2netParams({ ...NES2NET_TINY_A, la: null }))).toBe(3_149);
    expect(countParams(nes2netParams(NES2NET_TINY_B))).toBe(5_465);
  });
  it('tracing head: 4,332,309', () => expect(countParams(tracerParams(TRACER, 1024))).toBe(4_332_309));
  it('whole Nes2Net-LA model, names unique', () => {
    const p = modelParams({ arch: 'xlsr-nes2net', xlsr: XLSR_300M, nes2net: NES2NET_LA });
    expect(countParams(p)).toBe(315_437_696 + 578_599);
    expect(new Set(p.map((s) => s.name)).size).toBe(p.length);
  });
});

describe('name mapping', () => {
  const all = modelParams({ arch: 'xlsr-nes2net', xlsr: XLSR_300M, nes2net: NES2NET_LA }).map((s) => s.name);
  it('every canonical XLS-R name has a fairseq and a Hugging Face name that maps back', () => {
    for (const n of all.filter((x) => x.startsWith('xlsr.'))) {
      for (const scheme of ['fairseq', 'huggingface'] as const) {
        const src = fromCanonical(scheme, n);
        expect(src, `${scheme} ${n}`).not.toBeNull();
        expect(toCanonical(scheme, src!)).toBe(n);
      }
    }
  });
  it('every canonical Nes2Net and tracer name round-trips', () => {
    for (const n of all.filter((x) => x.startsWith('nes2net.'))) expect(toCanonical('nes2net', fromCanonical('nes2net', n)!)).toBe(n);
    for (const s of tracerParams(TRACER, 1024)) expect(toCanonical('tracer', fromCanonical('tracer', s.name)!)).toBe(s.name);
  });
  it('spells out the documented pairs', () => {
    expect(fromCanonical('fairseq', 'xlsr.conv.3.norm.weight')).toBe('feature_extractor.conv_layers.3.2.1.weight');
    expect(fromCanonical('huggingface', 'xlsr.layers.7.attn_norm.bias')).toBe('encoder.layers.7.layer_norm.bias');
    expect(fromCanonical('huggingface', 'xlsr.pos_conv.weight_v')).toBe('encoder.pos_conv_embed.conv.weight_v');
    expect(toCanonical('huggingface', 'encoder.pos_conv_embed.conv.parametrizations.weight.original0')).toBe('xlsr.pos_conv.weight_g');
    expect(toCanonical('fairseq', 'encoder.pos_conv.0.parametrizations.weight.original1')).toBe('xlsr.pos_conv.weight_v');
    expect(fromCanonical('nes2net', 'nes2net.blocks.6.se.fc2.bias')).toBe('Build_in_Res2Nets.6.se.se.3.bias');
    expect(fromCanonical('nes2net', 'nes2net.la.out.weight')).toBe('local_block_attn.proj_out.weight');
    expect(fromCanonical('tracer', 'tracer.attn.in_proj.weight')).toBe('layer_att.self_attn.in_proj_weight');
  });
  it('classifies prefixes, skips and strangers', () => {
    expect(classify('ssl_model.model.encoder.layers.0.fc1.weight')).toEqual({ kind: 'mapped', name: 'xlsr.layers.0.ffn.fc1.weight', layout: 'multiapi' });
    expect(classify('wav2vec2.masked_spec_embed').kind).toBe('skipped');
    expect(classify('Nested_Res2Net_TDNN.global_attn.in_proj_weight').kind).toBe('skipped');
    expect(classify('project_hid.weight').kind).toBe('skipped');
    expect(classify('lm_head.weight').kind).toBe('unexpected');
    expect(classify('encoder.layers.99.fc9.weight').kind).toBe('unexpected');
  });
});

describe('fairseq conv_feature_layers', () => {
  it('parses the expression without evaluating it', () => {
    expect(parseConvLayers('f', '[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]')).toEqual(XLSR_300M.convLayers);
    expect(parseConvLayers('f', '[(32,10,5),(32,3,2)]*2')).toHaveLength(4);
  });
  it.each(['__import__("os")', '[(1,2)]', '[(1,2,3)] * 99999', '', '[(1,2,3)] +'])('rejects %j', (s) => {
    expect(() => parseConvLayers('ck.pt', s)).toThrow(/ck\.pt: cannot parse conv_feature_layers/);
  });
});
