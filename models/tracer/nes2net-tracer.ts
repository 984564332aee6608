// The Nes2Net-LA tracer: the Nes2Net-LA back-end with an N-class head on the final XLS-R features, giving class
// probabilities and the same open-set decision as the reference tracer.
import { noGrad, tidy, type Tensor } from '../../engine/index.ts';
import { NES2NET_LA, type Nes2NetConfig } from '../nes2net/config.ts';
import { Nes2Net } from '../nes2net/nes2net.ts';
import { DEFAULT_OPEN_SET_THRESHOLD, openSetDecisions, type TracePrediction } from './open-set.ts';

/** Nes2Net-LA with `classes` outputs (21 seen APIs in MultiAPI-Spoof) on features of width `inputDim`. */
export function nes2netTracerConfig(classes: number, inputDim = NES2NET_LA.inputDim): Nes2NetConfig {
  return { ...NES2NET_LA, inputDim, nOut: classes };
}

/** Eval-mode class probabilities and open-set decisions of an N-class Nes2Net back-end on features [B, T, D]. */
export async function predictClasses(model: Nes2Net, features: Tensor, threshold = DEFAULT_OPEN_SET_THRESHOLD): Promise<TracePrediction[]> {
  const logits = noGrad(() => tidy(() => model.forward(features).logits));
  try {
    return openSetDecisions(await logits.data(), model.config.nOut, threshold);
  } finally {
    logits.dispose();
  }
}
