// The detector (XLS-R → Nes2Net-LA) as a page runs it: weights fetched lazily over HTTP Range requests,
// eval-mode logits of a few waveforms. test/browser/pipeline.test.ts runs the same function in Node (weights
// read from disk) and compares. Loads and frees everything it uses.
import { tensor } from '../engine/index.ts';
import { Detector } from '../models/detector.ts';
import type { ByteSource } from '../models/io/byte-source.ts';

export { initBrowserEngine } from '../engine/index.ts';
export { urlSource } from '../models/io/byte-source.ts';

/** A deterministic test waveform: two tones and a chirp, amplitude 0.3, `length` samples at 16 kHz. */
export function testWave(length: number, seed: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => {
    const t = i / 16000;
    return 0.1 * Math.sin(2 * Math.PI * (220 + 40 * seed) * t) + 0.1 * Math.sin(2 * Math.PI * 1330 * t) + 0.1 * Math.sin(2 * Math.PI * (300 + 900 * t) * t);
  });
}

/** Eval-mode logits of the detector in `source` for waveforms of these lengths (one batch each). */
export async function detectorLogits(source: ByteSource, lengths: readonly number[]): Promise<number[][]> {
  const { detector } = await Detector.open(source);
  try {
    const out: number[][] = [];
    for (let i = 0; i < lengths.length; i++) {
      const wav = tensor(testWave(lengths[i], i), [1, lengths[i]]);
      try {
        out.push((await detector.score(wav)).logits[0]);
      } finally {
        wav.dispose();
      }
    }
    return out;
  } finally {
    detector.dispose();
  }
}
