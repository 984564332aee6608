// One item of the data pipeline, shared by the in-process loader and the Node worker threads:
// file → decode → mono → 16 kHz → RawBoost (training only) → crop/pad or windows.

import { prepareAudio, type AudioReader, type LoadedAudio, type LoadOptions } from './decode.ts';
import { CROP_LENGTH, cropPad, windows, type CropPolicy } from './crop.ts';
import { Rng } from './prng.ts';
import { rawboost, type RawBoostParams } from './rawboost.ts';

/** 'windows': overlapping fixed-length evaluation windows (scores averaged per utterance). */
export type ItemPolicy = CropPolicy | 'windows';

export interface PipelineOptions {
  policy: ItemPolicy;
  /** Crop length L; default 64,600. */
  length?: number;
  /** Hop between evaluation windows; default L/2. */
  hop?: number;
  seed: number;
  /** RawBoost algorithm 1–8 (0 or undefined: none); applied before cropping. */
  rawboost?: number;
  rawboostParams?: Partial<RawBoostParams>;
  load?: LoadOptions;
}

export interface ItemJob {
  /** Index of the record in the dataset. */
  record: number;
  /** Position of the item in the epoch's order (seeds its RNG together with seed and epoch). */
  position: number;
  epoch: number;
  path: string;
}

export interface ItemResult {
  /** rows × length samples, row-major. */
  data: Float32Array;
  rows: number;
  length: number;
  /** Duration of the decoded source audio at 16 kHz, seconds (throughput accounting). */
  seconds: number;
}

// Independent RNG streams per item, so turning RawBoost on does not move the crops.
const STREAM_RAWBOOST = 1;
const STREAM_CROP = 2;

/** One item from a file read and decoded by `read` (Node: decodeAudioFile, FLAC/MP3 streamed; elsewhere
 *  bytesAudioReader). */
export async function prepareRead(read: AudioReader, job: ItemJob, opts: PipelineOptions): Promise<ItemResult> {
  const decoded = await read(job.path, { maxDecodedSamples: opts.load?.maxDecodedSamples });
  return prepareLoaded(prepareAudio(decoded, job.path, opts.load), job, opts);
}

/** One item from audio already decoded, mixed and resampled. */
export function prepareLoaded(audio: LoadedAudio, job: ItemJob, opts: PipelineOptions): ItemResult {
  const L = opts.length ?? CROP_LENGTH;
  let x = audio.samples;
  const seconds = x.length / audio.sampleRate;
  if (opts.rawboost) x = rawboost(x, opts.rawboost, Rng.derive(opts.seed, job.epoch, job.position, STREAM_RAWBOOST), opts.rawboostParams, audio.sampleRate);
  if (opts.policy === 'windows') {
    const ws = [...windows(x, L, opts.hop ?? L / 2)];
    const data = new Float32Array(ws.length * L);
    ws.forEach((w, i) => data.set(w.samples, i * L));
    return { data, rows: ws.length, length: L, seconds };
  }
  const rng = opts.policy === 'repeat-random' ? Rng.derive(opts.seed, job.epoch, job.position, STREAM_CROP) : undefined;
  const data = cropPad(x, opts.policy, L, rng);
  return { data, rows: 1, length: data.length, seconds };
}
