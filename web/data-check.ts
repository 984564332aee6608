// The audio pipeline as the browser runs it (test/browser/pipeline.test.ts runs the same function in Node and
// compares): decode (WAV, FLAC, MP3), mix to mono, resample to 16 kHz, then a seeded RawBoost pass.
import { Rng } from '../engine/random.ts';
import { loadAudio } from '../train/data/decode.ts';
import { rawboost } from '../train/data/rawboost.ts';

export interface DataCheckResult {
  name: string;
  sourceRate: number;
  channels: number;
  samples: number[];
  boosted: number[];
}

/** Decodes each file and applies RawBoost algorithm 4 (LnL → ISD → SSI) with a fixed seed. */
export async function runDataCheck(files: { name: string; bytes: Uint8Array }[]): Promise<DataCheckResult[]> {
  const out: DataCheckResult[] = [];
  for (const f of files) {
    const a = await loadAudio(f.bytes, f.name);
    const boosted = rawboost(a.samples, 4, new Rng(1234));
    out.push({ name: f.name, sourceRate: a.source.sampleRate, channels: a.source.channelData.length, samples: Array.from(a.samples), boosted: Array.from(boosted) });
  }
  return out;
}
