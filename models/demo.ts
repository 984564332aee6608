// Stand-in demo models: the tiny XLS-R (XLSR_TINY) with a Nes2Net-LA detector head (NES2NET_TINY_A) or a
// Nes2Net-LA tracing head over the 7 seen APIs of data/mini, seeded random weights, labelled untrained in
// their metadata. They take the place of models/pretrained/{detector,tracer}.safetensors while those are
// absent (development, tests, `spoofscan serve` on a fresh checkout); scores from them mean nothing.
import { Detector } from './detector.ts';
import { encodeModel } from './export.ts';
import { NES2NET_TINY_A } from './nes2net/config.ts';
import { XLSR_TINY } from './xlsr/config.ts';
import type { ModelInfo } from './model-info.ts';
import type { BuildOptions } from './model-init.ts';
import { nes2netTracerConfig } from './tracer/nes2net-tracer.ts';
import { TracingModel } from './tracer/tracing-model.ts';

/** The seen tracing classes of data/mini (classes.tsv, tracing ids 0–6). */
export const MINI_SEEN_APIS = ['espeak-ng', 'espeak-ng-klatt', 'flite-kal', 'flite-slt', 'flite-awb', 'festival-kal', 'festival-ked'];

const NOTE = 'stand-in: seeded random weights (models/demo.ts), not trained';

export function standinDetector(seed = 1, opts: BuildOptions = {}): Detector {
  return Detector.fromConfig({ arch: 'xlsr-nes2net', xlsr: XLSR_TINY, nes2net: NES2NET_TINY_A }, seed, opts);
}

export function standinTracer(seed = 3, opts: BuildOptions = {}): TracingModel {
  return TracingModel.fromConfig({ arch: 'xlsr-nes2net', xlsr: XLSR_TINY, nes2net: nes2netTracerConfig(MINI_SEEN_APIS.length, XLSR_TINY.dModel) }, seed, opts);
}

export const STANDIN_DETECTOR_INFO: ModelInfo = {
  task: 'detect',
  classes: ['spoof', 'bonafide'],
  provenance: { trained: false, preset: 'tiny', note: NOTE },
};

export const STANDIN_TRACER_INFO: ModelInfo = {
  task: 'trace',
  classes: MINI_SEEN_APIS,
  threshold: 0.5,
  provenance: { trained: false, preset: 'tiny', note: NOTE },
};

/** The two stand-in files as safetensors bytes (needs an engine: the weights pass through the GPU once). */
export async function standinFiles(): Promise<{ detector: Uint8Array; tracer: Uint8Array }> {
  const d = standinDetector();
  const t = standinTracer();
  try {
    return { detector: await encodeModel(d, STANDIN_DETECTOR_INFO), tracer: await encodeModel(t, STANDIN_TRACER_INFO) };
  } finally {
    d.dispose();
    t.dispose();
  }
}
