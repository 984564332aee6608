// Limits on audio input, checked from the header before anything large is allocated (browser-safe).
//
// A decoded file costs 4 bytes per sample per channel as float32, plus the mono mix and the 16 kHz copy; the
// budget below keeps one file under about 1.5 GB of memory all told. A longer recording is refused with a
// message saying how to split it, instead of running the process out of memory.

import { AudioError } from './errors.ts';

/** Lowest and highest sample rate accepted (1 kHz – 768 kHz: everything real audio hardware produces). */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 768_000;
/** Most channels accepted (WAV allows 65,535; 64 covers every multichannel recording format). */
export const MAX_CHANNELS = 64;
/** Most decoded samples per file, all channels together: 2^27 = 134,217,728 (512 MiB as float32), e.g.
 *  70 minutes of 32 kHz mono, 23 minutes of 48 kHz stereo, 140 minutes at 16 kHz mono. */
export const MAX_DECODED_SAMPLES = 2 ** 27;
/** Largest audio file read: 2 GiB − 1 (a WAV within the sample budget is at most 1 GiB: float64). */
export const MAX_AUDIO_FILE_BYTES = 2 ** 31 - 1;
/** Largest |sample| accepted from a float file. Float audio lives in [−1, 1]; some writers overshoot a little,
 *  but 3e38 is garbage that would turn every feature into NaN. */
export const MAX_ABS_SAMPLE = 1000;

export interface AudioLimits {
  maxDecodedSamples?: number;
}

const mb = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;

/** Checks a header's rate, channels and length against the limits; throws an AudioError naming the file. */
export function checkAudioHeader(
  h: { sampleRate: number; channels: number; frames?: number },
  file?: string,
  limits: AudioLimits = {},
): void {
  const { sampleRate: rate, channels, frames } = h;
  if (!Number.isFinite(rate) || rate <= 0) throw new AudioError(`zero or invalid sample rate (${rate}) in the header`, file);
  if (rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE)
    throw new AudioError(
      `sample rate ${rate} Hz in the header is outside ${MIN_SAMPLE_RATE}–${MAX_SAMPLE_RATE} Hz (a corrupt header?)`,
      file,
    );
  if (!(channels >= 1)) throw new AudioError('zero channels', file);
  if (channels > MAX_CHANNELS) throw new AudioError(`${channels} channels in the header; at most ${MAX_CHANNELS} are supported`, file);
  if (frames !== undefined) {
    const max = limits.maxDecodedSamples ?? MAX_DECODED_SAMPLES;
    if (frames * channels > max) {
      const secs = frames / rate;
      throw new AudioError(
        `too long: ${frames} frames × ${channels} channel(s) (${secs.toFixed(0)} s at ${rate} Hz) exceed the limit of ` +
          `${max} decoded samples (${mb(max * 4)} as float32); split the recording into shorter files (e.g. sox IN OUT trim 0 600 : newfile : restart)`,
        file,
      );
    }
  }
}

/** Throws an AudioError naming the file at the first NaN, ±Inf or |x| > MAX_ABS_SAMPLE sample. */
export function checkSamples(channels: readonly Float32Array[], file?: string): void {
  for (let c = 0; c < channels.length; c++) {
    const ch = channels[c];
    for (let i = 0; i < ch.length; i++) {
      const v = ch[i];
      if (!(v >= -MAX_ABS_SAMPLE && v <= MAX_ABS_SAMPLE)) {
        const where = `index ${i}${channels.length > 1 ? ` of channel ${c}` : ''}`;
        throw new AudioError(
          Number.isFinite(v)
            ? `sample at ${where} is ${v}, outside ±${MAX_ABS_SAMPLE}: not audio (float samples lie in about [−1, 1])`
            : `non-finite sample at ${where} (${v})`,
          file,
        );
      }
    }
  }
}

/** Checks a resampling target rate (e.g. `audio convert --rate`). */
export function checkTargetRate(rate: number): void {
  if (!Number.isInteger(rate) || rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE)
    throw new AudioError(`--rate must be an integer from ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz, not ${rate}`);
}
