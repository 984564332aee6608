// XLS-R configuration, presets, parameter list (canonical names, models/io/mapping.ts) and the frame geometry of
// the conv feature encoder (spec model-xlsr.md §1, §2).
import { paramSpec, type ParamSpec } from '../param-spec.ts';

export interface XlsrConfig {
  /** Conv feature extractor blocks: [channels, kernel, stride]. */
  convLayers: [number, number, number][];
  convBias: boolean;
  dModel: number;
  ffnDim: number;
  heads: number;
  layers: number;
  posConvKernel: number;
  posConvGroups: number;
  layerNormEps: number;
  /** Training-time regularisation (identity at inference); see spec model-xlsr.md §1.1. */
  dropout: number;
  attentionDropout: number;
  activationDropout: number;
  layerdrop: number;
  dropoutInput: number;
  dropoutFeatures: number;
  featureGradMult: number;
  /** Whether the pre-training task normalised waveforms (fairseq cfg.task.normalize); null if unknown.
   *  Informational: model code never normalises and the anti-spoofing recipes feed raw samples. */
  taskNormalize: boolean | null;
}

const STANDARD_CONV: [number, number, number][] = [
  [512, 10, 5], [512, 3, 2], [512, 3, 2], [512, 3, 2], [512, 3, 2], [512, 2, 2], [512, 2, 2],
];

const NO_DROPOUT = {
  dropout: 0, attentionDropout: 0, activationDropout: 0, layerdrop: 0, dropoutInput: 0, dropoutFeatures: 0,
  featureGradMult: 1,
};

/** XLS-R 300M (spec model-xlsr.md §1). Regularisation defaults are fairseq's large pre-training values. */
export const XLSR_300M: XlsrConfig = {
  convLayers: STANDARD_CONV, convBias: true, dModel: 1024, ffnDim: 4096, heads: 16, layers: 24,
  posConvKernel: 128, posConvGroups: 16, layerNormEps: 1e-5, ...NO_DROPOUT, taskNormalize: null,
};

/** The tiny fixture configuration (spec model-xlsr.md §9): 103,088 parameters. */
export const XLSR_TINY: XlsrConfig = {
  ...XLSR_300M,
  convLayers: STANDARD_CONV.map(([, k, s]) => [32, k, s]),
  dModel: 64, ffnDim: 128, heads: 4, layers: 2, posConvKernel: 16, posConvGroups: 4,
};

export function xlsrParams(c: XlsrConfig, prefix = 'xlsr.'): ParamSpec[] {
  const out: ParamSpec[] = [];
  let inCh = 1;
  c.convLayers.forEach(([ch, k], i) => {
    out.push(paramSpec(`${prefix}conv.${i}.weight`, [ch, inCh, k]));
    if (c.convBias) out.push(paramSpec(`${prefix}conv.${i}.bias`, [ch]));
    out.push(paramSpec(`${prefix}conv.${i}.norm.weight`, [ch]), paramSpec(`${prefix}conv.${i}.norm.bias`, [ch]));
    inCh = ch;
  });
  const d = c.dModel;
  out.push(
    paramSpec(`${prefix}proj.norm.weight`, [inCh]), paramSpec(`${prefix}proj.norm.bias`, [inCh]),
    paramSpec(`${prefix}proj.weight`, [d, inCh]), paramSpec(`${prefix}proj.bias`, [d]),
    paramSpec(`${prefix}pos_conv.weight_g`, [1, 1, c.posConvKernel]),
    paramSpec(`${prefix}pos_conv.weight_v`, [d, d / c.posConvGroups, c.posConvKernel]),
    paramSpec(`${prefix}pos_conv.bias`, [d]),
  );
  for (let l = 0; l < c.layers; l++) {
    const p = `${prefix}layers.${l}.`;
    out.push(paramSpec(`${p}attn_norm.weight`, [d]), paramSpec(`${p}attn_norm.bias`, [d]));
    for (const m of ['q', 'k', 'v', 'out']) out.push(paramSpec(`${p}attn.${m}.weight`, [d, d]), paramSpec(`${p}attn.${m}.bias`, [d]));
    out.push(
      paramSpec(`${p}ffn_norm.weight`, [d]), paramSpec(`${p}ffn_norm.bias`, [d]),
      paramSpec(`${p}ffn.fc1.weight`, [c.ffnDim, d]), paramSpec(`${p}ffn.fc1.bias`, [c.ffnDim]),
      paramSpec(`${p}ffn.fc2.weight`, [d, c.ffnDim]), paramSpec(`${p}ffn.fc2.bias`, [d]),
    );
  }
  out.push(paramSpec(`${prefix}final_norm.weight`, [d]), paramSpec(`${prefix}final_norm.bias`, [d]));
  return out;
}


/** XLS-R 1B: 48 layers, width 1280, FFN 5120, 16 heads; same extractor and positional conv as 300M. */
export const XLSR_1B: XlsrConfig = { ...XLSR_300M, dModel: 1280, ffnDim: 5120, layers: 48 };
/** XLS-R 2B: 48 layers, width 1920, FFN 7680, 16 heads. */
export const XLSR_2B: XlsrConfig = { ...XLSR_300M, dModel: 1920, ffnDim: 7680, layers: 48 };

export const XLSR_PRESETS: Readonly<Record<string, XlsrConfig>> = {
  'xlsr-300m': XLSR_300M,
  'xlsr-1b': XLSR_1B,
  'xlsr-2b': XLSR_2B,
  tiny: XLSR_TINY,
};

export function xlsrPreset(name: string): XlsrConfig {
  const c = XLSR_PRESETS[name];
  if (!c) throw new Error(`unknown XLS-R preset '${name}' (known: ${Object.keys(XLSR_PRESETS).join(', ')})`);
  return structuredClone(c);
}

/** Samples that one output frame sees (400 for the standard extractor). */
export function receptiveField(conv: XlsrConfig['convLayers']): number {
  let rf = 1;
  let hop = 1;
  for (const [, k, s] of conv) {
    rf += (k - 1) * hop;
    hop *= s;
  }
  return rf;
}

/** Output frames for `samples` input samples: ⌊(L − k)/s⌋ + 1 composed over the conv blocks; 0 when too short.
 *  Equals ⌊(L − 400)/320⌋ + 1 for the standard extractor and L ≥ 400. */
export function frameCount(samples: number, conv: XlsrConfig['convLayers'] = XLSR_300M.convLayers): number {
  let L = samples;
  for (const [, k, s] of conv) {
    if (L < k) return 0;
    L = Math.floor((L - k) / s) + 1;
  }
  return L;
}

/** Per-block output lengths (for error messages and benchmarks). */
export function blockLengths(samples: number, conv: XlsrConfig['convLayers']): number[] {
  const out: number[] = [];
  let L = samples;
  for (const [, k, s] of conv) {
    L = L < k ? 0 : Math.floor((L - k) / s) + 1;
    out.push(L);
  }
  return out;
}

/** Forward multiply-accumulates for one utterance of `samples` samples (spec model-xlsr.md §7). */
export function forwardMacs(c: XlsrConfig, samples: number): { featureEncoder: number; positionalConv: number; transformer: number; total: number } {
  let L = samples;
  let inCh = 1;
  let cnn = 0;
  for (const [ch, k, s] of c.convLayers) {
    L = Math.floor((L - k) / s) + 1;
    cnn += ch * L * inCh * k;
    inCh = ch;
  }
  const T = L;
  const d = c.dModel;
  const featureEncoder = cnn + T * inCh * d;
  // conv1d's trimEnd never computes the frame SamePad drops: T frames.
  const positionalConv = T * d * (d / c.posConvGroups) * c.posConvKernel;
  const transformer = c.layers * (T * (4 * d * d + 2 * d * c.ffnDim) + 2 * T * T * d);
  return { featureEncoder, positionalConv, transformer, total: featureEncoder + positionalConv + transformer };
}
