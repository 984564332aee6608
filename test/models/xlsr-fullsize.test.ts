// The full-size XLS-R 300M layout: a fairseq checkpoint with all 429 published tensors, written as a sparse file
// (tensor data left as holes = zeros), loads into an XlsrModel: every tensor mapped and uploaded with its shape,
// 315,437,696 parameters in the parts used, the pre-training heads skipped, the 300M configuration recognised.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../engine/node.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { fromCanonical } from '../../models/io/mapping.ts';
import { XLSR_300M, xlsrParams } from '../../models/xlsr/config.ts';
import { loadXlsr, forwardMacs } from '../../models/xlsr/index.ts';
import { buildZip, torchZipEntries, writeSparse, type SynthTensor } from '../io/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'spoofscan-xlsr-full-'));
beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Values of the small used tensors (≤ 4096 values: biases, LayerNorms, weight_g), distinct per tensor, so that two
 *  same-shape tensors swapped by the mapping (say the q and k biases of a layer) are caught; the rest stay zero. */
const SMALL = 4096;
function smallValues(index: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => index + (i % 97) / 128);
}

/** Every tensor of xlsr2_300m.pt's ckpt['model'] (spec model-xlsr.md §6), names from the canonical list. */
function fairseq300m(): SynthTensor[] {
  const used = xlsrParams(XLSR_300M).map((s, index) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = n <= SMALL ? new Uint8Array(smallValues(index, n).buffer) : undefined;
    return { name: fromCanonical('fairseq', s.name)!, dtype: 'F32' as const, shape: s.shape, data };
  });
  const heads: [string, number[]][] = [
    ['mask_emb', [1024]], ['quantizer.vars', [1, 640, 384]], ['quantizer.weight_proj.weight', [640, 512]], ['quantizer.weight_proj.bias', [640]],
    ['project_q.weight', [768, 768]], ['project_q.bias', [768]], ['final_proj.weight', [768, 1024]], ['final_proj.bias', [768]],
  ];
  return [...used, ...heads.map(([name, shape]) => ({ name, dtype: 'F32' as const, shape }))];
}

describe('full-size XLS-R 300M checkpoint', () => {
  it('maps and uploads all 421 used tensors (the 268 small ones checked by value): 315,437,696 parameters; 8 pre-training tensors skipped', async () => {
    const tensors = fairseq300m();
    expect(tensors).toHaveLength(429);
    const z = buildZip(torchZipEntries(tensors, { root: 'xlsr2_300m', wrapKey: 'model' }));
    const path = join(dir, 'xlsr2_300m.pt');
    await writeSparse(path, z.parts, z.size);
    const src = await fileSource(path);
    try {
      const { model, weights } = await loadXlsr(src);
      expect(weights.report.mapped).toHaveLength(421);
      expect(weights.report.skipped).toHaveLength(8);
      expect(weights.report.params).toBe(315_437_696);
      expect(model.config).toMatchObject({ layers: 24, dModel: 1024, ffnDim: 4096, heads: 16, posConvKernel: 128, posConvGroups: 16, convLayers: XLSR_300M.convLayers });
      expect(model.parameterCount()).toBe(315_437_696);
      let checked = 0;
      for (const [index, s] of xlsrParams(XLSR_300M).entries()) {
        const t = model.namedTensors('xlsr.').get(s.name);
        expect(t?.shape, s.name).toEqual(s.shape);
        if (t!.size <= SMALL) {
          expect(Array.from(await t!.data()), s.name).toEqual(Array.from(smallValues(index, t!.size)));
          checked++;
        }
      }
      expect(checked).toBe(7 * 3 + 3 + 2 + 24 * 10 + 2); // conv bias + LN ×7; proj LN + bias; pos g, b; per layer 4 attention biases, 2 LNs, fc1/fc2 biases; final LN
      expect(model.frames(64_600)).toBe(201);
      model.dispose();
    } finally {
      await src.close();
    }
  });

  it('forward cost of one 4.04 s clip matches spec model-xlsr.md §7 (≈ 148.8 GFLOP)', () => {
    const m = forwardMacs(XLSR_300M, 64_600);
    expect(m.featureEncoder / 1e9).toBeCloseTo(9.905 + 0.105, 2);
    expect(m.transformer / 1e9).toBeCloseTo(62.686, 2);
    expect((2 * m.total) / 1e9).toBeCloseTo(148.8, 0);
  });
});
