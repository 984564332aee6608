// The full detector XLS-R → Nes2Net-LA: the MultiAPI-Spoof DDP checkpoint layout loads with an exact report, the
// result matches PyTorch (torchaudio wav2vec2 + the reference back-end) end to end in eval and train mode with
// gradients down to the waveform, our own safetensors give the same model, and a full-size DDP checkpoint with
// every published key maps exactly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { backward, requiresGrad, tidy } from '../../engine/node.ts';
import { mul, sum } from '../../kernels/index.ts';
import { Detector } from '../../models/detector.ts';
import { bufferSource, encodeSafetensors, fromCanonical, loadWeights, META_CONFIG, classify, stripModulePrefix } from '../../models/io/index.ts';
import type { HostTensor } from '../../models/io/index.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { countParams } from '../../models/param-spec.ts';
import { NES2NET_LA, nes2netParams } from '../../models/nes2net/config.ts';
import { XLSR_300M, xlsrParams } from '../../models/xlsr/config.ts';
import { Nes2Net } from '../../models/nes2net/nes2net.ts';
import { buildZip, torchZipEntries, writeSparse, type SynthTensor } from '../io/helpers.ts';
import { useEngine } from '../helpers/engine.ts';
import { expectNear, readGolden, upload, type Arr } from './nes2net-helpers.ts';

useEngine();

const DDP = fileURLToPath(new URL('../fixtures/nes2net/detector-ddp.pth', import.meta.url));
const NO_DROPOUT = { nes2net: { dropout: 0, la: { windowSize: 3, heads: 1, dropout: 0 } } };

interface DetectorCase {
  R: Arr;
  features: Arr;
  logits: Arr;
  wav_grad: Arr;
  grads: Record<string, Arr>;
  buffers?: Record<string, Arr>;
}
const golden = readGolden<{ wav: Arr; cases: Record<'eval' | 'train', DetectorCase> }>('detector');

/** Canonical name of a checkpoint key. */
function canonicalOf(key: string): string {
  const c = classify(stripModulePrefix(key));
  if (c.kind !== 'mapped') throw new Error(`${key} does not map`);
  return c.name;
}

async function checkMode(mode: 'eval' | 'train'): Promise<void> {
  const c = golden.cases[mode];
  const training = mode === 'train';
  const file = await fileSource(DDP);
  const { detector } = await Detector.open(file, training ? { overrides: NO_DROPOUT } : {});
  await file.close();
  const wav = requiresGrad(upload(golden.wav));
  try {
    const out = tidy(() => {
      const o = detector.forward(wav, { training });
      backward(sum(mul(o.logits, upload(c.R))));
      return o;
    });
    await expectNear(out.features, c.features, 1e-4, 1e-5, `${mode} features`);
    await expectNear(out.logits, c.logits, 1e-4, 1e-6, `${mode} logits`);
    const byName = detector.namedTensors();
    for (const [k, e] of Object.entries(c.grads)) await expectNear(byName.get(canonicalOf(k))!.grad!, e, 1e-3, 1e-3, `${mode} d/d${k}`, 1e-6);
    await expectNear(wav.grad!, c.wav_grad, 1e-3, 1e-3, `${mode} d/dwav`, 1e-7);
    if (training) for (const [k, e] of Object.entries(c.buffers!)) await expectNear(byName.get(canonicalOf(k))!, e, 1e-4, 1e-5, `running stat ${k}`);
    out.features.dispose();
    out.logits.dispose();
  } finally {
    wav.grad?.dispose();
    wav.dispose();
    detector.dispose();
  }
}

describe('detector XLS-R → Nes2Net-LA (tiny) against PyTorch', () => {
  it('the MultiAPI-Spoof DDP checkpoint loads with an exact report', async () => {
    const file = await fileSource(DDP);
    try {
      const w = await loadWeights(file);
      const r = w.report;
      expect(w.config.arch).toBe('xlsr-nes2net');
      expect(r.layout).toEqual(['multiapi']);
      expect(r.notes).toContain('stripped the DDP `module.` prefix');
      expect(r.params).toBe(103_088 + 3_469);
      expect(r.skipped.map((s) => s.source).sort()).toEqual(
        ['module.ssl_model.model.mask_emb', ...['in_proj_bias', 'in_proj_weight', 'out_proj.bias', 'out_proj.weight'].map((k) => `module.Nested_Res2Net_TDNN.global_attn.${k}`)].sort(),
      );
      expect(r.unexpected).toEqual([]);
      expect(r.missing).toEqual([]);
      expect(r.missingOptional).toEqual([]);
      expect(r.mismatched).toEqual([]);
      expect(r.mapped).toHaveLength(w.tensors.length);
    } finally {
      await file.close();
    }
  });

  it('eval mode: features ≤ 1e-4, logits ≤ 1e-4, gradients (XLS-R, back-end, waveform) ≤ 1e-3', () => checkMode('eval'));
  it('train mode (dropout 0): BatchNorm batch statistics, running-stat updates, gradients', () => checkMode('train'));

  it('our own safetensors (canonical names, config in metadata) gives the same logits; score = logit of class 1', async () => {
    const file = await fileSource(DDP);
    const { detector, weights } = await Detector.open(file);
    const tensors: HostTensor[] = [];
    for (const t of weights.tensors) tensors.push(await t.read());
    await file.close();
    const st = encodeSafetensors(tensors, { [META_CONFIG]: JSON.stringify(weights.config) });
    const again = await Detector.open(bufferSource(st, 'detector.safetensors'));
    expect(again.weights.report.layout).toEqual(['spoofscan']);
    const wav = upload(golden.wav);
    const a = await detector.score(wav);
    const b = await again.detector.score(wav);
    expect(b).toEqual(a);
    expect(a.scores).toEqual(a.logits.map((l) => l[1]));
    await expectNear(upload({ shape: [2, 2], data: a.logits.flat() }), golden.cases.eval.logits, 1e-4, 1e-6, 'score logits');
    wav.dispose();
    detector.dispose();
    again.detector.dispose();
  });
});

describe('full-size DDP checkpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spoofscan-detector-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every key of the real layout (XLS-R sparse, back-end random) loads with an exact report; the back-end gets the values', async () => {
    const xlsrKeys = xlsrParams(XLSR_300M).map((s) => ({ name: `module.ssl_model.model.${fromCanonical('fairseq', s.name)!}`, shape: s.shape }));
    const extra: [string, number[]][] = [
      ['mask_emb', [1024]], ['quantizer.vars', [1, 640, 384]], ['quantizer.weight_proj.weight', [640, 512]], ['quantizer.weight_proj.bias', [640]],
      ['project_q.weight', [768, 768]], ['project_q.bias', [768]], ['final_proj.weight', [768, 1024]], ['final_proj.bias', [768]],
    ];
    const backSpecs = nes2netParams(NES2NET_LA);
    let seed = 1;
    const backend: SynthTensor[] = backSpecs.map((s) => {
      const name = `module.Nested_Res2Net_TDNN.${fromCanonical('nes2net', s.name)!}`;
      if (s.dtype === 'int64') return { name, dtype: 'I64', shape: s.shape, data: new Uint8Array(new BigInt64Array([7n]).buffer) };
      const n = s.shape.reduce((a, b) => a * b, 1);
      const v = Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * (s.name.endsWith('running_var') ? 1 : 2) - (s.name.endsWith('running_var') ? -0.5 : 1));
      return { name, dtype: 'F32', shape: s.shape, data: new Uint8Array(v.buffer) };
    });
    const globalAttn: [string, number[]][] = [['in_proj_weight', [3072, 1024]], ['in_proj_bias', [3072]], ['out_proj.weight', [1024, 1024]], ['out_proj.bias', [1024]]];
    const tensors: SynthTensor[] = [
      ...xlsrKeys.map((k) => ({ name: k.name, dtype: 'F32' as const, shape: k.shape })),
      ...extra.map(([n, shape]) => ({ name: `module.ssl_model.model.${n}`, dtype: 'F32' as const, shape })),
      ...backend,
      ...globalAttn.map(([n, shape]) => ({ name: `module.Nested_Res2Net_TDNN.global_attn.${n}`, dtype: 'F32' as const, shape })),
    ];
    const z = buildZip(torchZipEntries(tensors, { root: 'epoch_5_1.422' }));
    const path = join(dir, 'epoch_5_1.422.pth');
    await writeSparse(path, z.parts, z.size);
    const file = await fileSource(path);
    try {
      const w = await loadWeights(file);
      const r = w.report;
      expect(w.config.arch).toBe('xlsr-nes2net');
      expect(w.config.nes2net).toEqual(NES2NET_LA);
      expect(r.params).toBe(315_437_696 + 578_599);
      expect(r.mapped).toHaveLength(xlsrKeys.length + backSpecs.length);
      expect(r.skipped).toHaveLength(extra.length + globalAttn.length);
      expect(r.skipped.filter((s) => s.source.includes('global_attn')).map((s) => s.reason)).toEqual(new Array(4).fill('Nes2Net-LA global_attn: in the state dict but never called in forward'));
      expect([r.unexpected, r.missing, r.missingOptional, r.mismatched]).toEqual([[], [], [], []]);
      expect(countParams(backSpecs)).toBe(578_599);
      const model = await Nes2Net.load(w);
      try {
        expect(model.parameterCount()).toBe(578_599);
        for (const t of [backend[0], backend.find((b) => b.name.endsWith('local_block_attn.pos_emb'))!, backend.find((b) => b.name.endsWith('fc.weight'))!]) {
          const got = await model.namedTensors('nes2net.').get(canonicalOf(t.name))!.data();
          expect(Array.from(got)).toEqual(Array.from(new Float32Array(t.data!.buffer)));
        }
        expect(model.bn.numBatchesTracked.value).toBe(7);
      } finally {
        model.dispose();
      }
    } finally {
      await file.close();
    }
  });
});
