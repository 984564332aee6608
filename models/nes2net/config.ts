// Nes2Net-X / Nes2Net-LA configuration, presets and parameter list (canonical names, models/io/mapping.ts).
import { batchNormSpecs, paramSpec, type ParamSpec } from '../param-spec.ts';

export interface Nes2NetConfig {
  /** D: input channels (the XLS-R width). */
  inputDim: number;
  /** [outer groups n1, inner scale n2]. */
  nesRatio: [number, number];
  kernel: number;
  dilation: number;
  seRatio: number;
  nOut: number;
  dropout: number;
  /** Local window attention over the groups (Nes2Net-LA); null for Nes2Net-X. */
  la: { windowSize: number; heads: number; dropout: number } | null;
}

/** Nes2Net-LA as released by MultiAPI-Spoof (spec model-nes2net-la.md §5–§9): 578,599 parameters in use. */
export const NES2NET_LA: Nes2NetConfig = {
  inputDim: 1024, nesRatio: [8, 8], kernel: 3, dilation: 2, seRatio: 1, nOut: 2, dropout: 0.2,
  la: { windowSize: 3, heads: 1, dropout: 0.1 },
};

/** Fixture configurations of spec model-nes2net-la.md §13. */
export const NES2NET_TINY_A: Nes2NetConfig = { ...NES2NET_LA, inputDim: 64 };
export const NES2NET_TINY_B: Nes2NetConfig = { ...NES2NET_LA, inputDim: 64, nesRatio: [4, 4] };

export function nes2netParams(c: Nes2NetConfig, prefix = 'nes2net.'): ParamSpec[] {
  const [n1, n2] = c.nesRatio;
  const C = c.inputDim / n1, w = Math.floor(C / n2), wn = w * n2, r = C / c.seRatio;
  const out: ParamSpec[] = [];
  for (let b = 0; b < n1 - 1; b++) {
    const p = `${prefix}blocks.${b}.`;
    out.push(paramSpec(`${p}conv1.weight`, [wn, C, 1]), paramSpec(`${p}conv1.bias`, [wn]), ...batchNormSpecs(`${p}bn1`, wn));
    for (let j = 0; j < n2 - 1; j++) out.push(paramSpec(`${p}convs.${j}.weight`, [w, w, c.kernel, 1]), paramSpec(`${p}convs.${j}.bias`, [w]));
    for (let j = 0; j < n2 - 1; j++) out.push(...batchNormSpecs(`${p}bns.${j}`, w));
    for (let j = 0; j < n2 - 1; j++) out.push(paramSpec(`${p}weighted_sum.${j}`, [1, 1, 1, j + 2]));
    out.push(paramSpec(`${p}conv3.weight`, [C, wn, 1]), paramSpec(`${p}conv3.bias`, [C]), ...batchNormSpecs(`${p}bn3`, C));
    out.push(paramSpec(`${p}se.fc1.weight`, [r, C, 1]), paramSpec(`${p}se.fc1.bias`, [r]), paramSpec(`${p}se.fc2.weight`, [C, r, 1]), paramSpec(`${p}se.fc2.bias`, [C]));
  }
  for (let b = 0; b < n1 - 1; b++) out.push(...batchNormSpecs(`${prefix}bns.${b}`, C));
  out.push(...batchNormSpecs(`${prefix}bn`, c.inputDim), paramSpec(`${prefix}fc.weight`, [c.nOut, c.inputDim]), paramSpec(`${prefix}fc.bias`, [c.nOut]));
  if (c.la) {
    for (const m of ['q', 'k', 'v', 'out']) out.push(paramSpec(`${prefix}la.${m}.weight`, [C, C]));
    out.push(paramSpec(`${prefix}la.pos_emb`, [n1, C]));
  }
  return out;
}

