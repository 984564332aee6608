// One common low-pass for every clip of the mini corpus (spec data.md §5.3: "band-limit every class
// identically"). Resampling to 8 kHz alone is not enough: material already at 8 kHz (the Asterisk
// bona fide prompts, flite's kal voice) skips the resampler, and the Asterisk recordings carry their
// own, steeper telephone anti-alias filter. Without this step the spoofed classes kept 15–25 dB more
// energy above 3.9 kHz than the bona fide ones, a band cue a detector could learn instead of synthesis
// artefacts. A Kaiser-windowed sinc with its stop band well inside every source's own roll-off puts
// the top of the band under one filter for all classes.

import { convolveRange } from '../../train/data/fft.ts';
import { besselI0 } from '../../train/data/resample.ts';

export interface BandLimit {
  passHz: number; // end of the pass band
  stopHz: number; // start of the stop band
  attenuationDb: number; // design target for Kaiser's formulas (they land ≈ 1.5 dB short at the edge)
}

/** At 8 kHz: flat to 3.4 kHz (the telephone band), ≥ 80 dB down from 3.8 kHz (measured in the tests). */
export const MINI_BAND_LIMIT: BandLimit = { passHz: 3400, stopHz: 3800, attenuationDb: 85 };

/** Kaiser-window low-pass FIR (odd length, linear phase, unity DC gain), Kaiser's design formulas. */
export function kaiserLowpass(rate: number, spec: BandLimit = MINI_BAND_LIMIT): Float64Array {
  const { passHz, stopHz, attenuationDb: A } = spec;
  if (!(0 < passHz && passHz < stopHz && stopHz <= rate / 2)) throw new RangeError(`kaiserLowpass: need 0 < pass < stop ≤ ${rate / 2} Hz`);
  const beta = A > 50 ? 0.1102 * (A - 8.7) : A >= 21 ? 0.5842 * (A - 21) ** 0.4 + 0.07886 * (A - 21) : 0;
  const dw = (2 * Math.PI * (stopHz - passHz)) / rate;
  const order = Math.ceil((A - 7.95) / (2.285 * dw));
  const taps = order + (order % 2 === 0 ? 1 : 2); // odd: integer group delay
  const fc = (passHz + stopHz) / 2 / rate; // cycles per sample
  const mid = (taps - 1) / 2;
  const h = new Float64Array(taps);
  const i0b = besselI0(beta);
  let sum = 0;
  for (let n = 0; n < taps; n++) {
    const m = n - mid;
    const ideal = m === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * m) / (Math.PI * m);
    h[n] = ideal * (besselI0(beta * Math.sqrt(1 - (m / mid) ** 2)) / i0b);
    sum += h[n];
  }
  for (let n = 0; n < taps; n++) h[n] /= sum;
  return h;
}

/** Zero-phase (delay-compensated) low-pass filtering; output has the input's length. */
export function bandLimit(x: Float32Array, rate: number, spec: BandLimit = MINI_BAND_LIMIT): Float32Array {
  const h = kaiserLowpass(rate, spec);
  return Float32Array.from(convolveRange(x, h, (h.length - 1) / 2, x.length));
}
