// XLS-R configurations (presets) and the frame geometry of the conv feature encoder (model-xlsr.md §1, §2).
import type { XlsrConfig } from '../io/names.ts';
import { XLSR_300M, XLSR_TINY } from '../io/names.ts';

export type { XlsrConfig } from '../io/names.ts';

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

/** Forward multiply-accumulates for one utterance of `samples` samples (model-xlsr.md §7). */
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
