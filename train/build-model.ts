// The model a training run starts from: a preset from scratch (seeded, identical on every platform) or a
// checkpoint (`init`): XLS-R alone (e.g. xlsr2_300m.pt) gets a freshly initialised head; a whole model of the
// run's task is fine-tuned as it is.
import type { ByteSource } from '../models/io/byte-source.ts';
import { loadWeights } from '../models/io/load.ts';
import { NES2NET_LA, type Nes2NetConfig } from '../models/nes2net/config.ts';
import { XLSR_300M, XLSR_TINY, type XlsrConfig } from '../models/xlsr/config.ts';
import { Detector } from '../models/detector.ts';
import type { SpoofModel } from '../models/spoof-model.ts';
import { Nes2Net } from '../models/nes2net/nes2net.ts';
import { ReferenceTracer } from '../models/tracer/reference.ts';
import { nes2netTracerConfig } from '../models/tracer/nes2net-tracer.ts';
import { TracingModel } from '../models/tracer/tracing-model.ts';
import { XlsrModel } from '../models/xlsr/model.ts';
import { xlsrFromWeights } from '../models/xlsr/load.ts';
import type { BuildOptions } from '../models/model-init.ts';
import { ConfigError, type TrainConfig } from './config.ts';

const NO_XLSR_DROPOUT: Partial<XlsrConfig> = { dropout: 0, attentionDropout: 0, activationDropout: 0, layerdrop: 0, dropoutInput: 0, dropoutFeatures: 0 };

/** Seeds of the parts, so that changing one part's size does not move the other's values. */
const SEED_XLSR = 1;
const SEED_HEAD = 2;

function headConfig(c: TrainConfig, dModel: number, classes: number): Nes2NetConfig {
  if (c.task === 'trace') return nes2netTracerConfig(classes, dModel);
  // Nes2Net-X: the same back-end without the local-window attention (spec model-nes2net-la.md).
  return c.backend === 'nes2net-la' ? { ...NES2NET_LA, inputDim: dModel } : { ...NES2NET_LA, inputDim: dModel, la: null };
}

function makeHead(c: TrainConfig, dModel: number, classes: number, opts: BuildOptions): Nes2Net | ReferenceTracer {
  if (c.task === 'trace' && c.tracer === 'reference') return ReferenceTracer.fromConfig({ heads: Math.min(4, dModel / 16) | 0 || 1, hidden: Math.min(128, 2 * dModel), classes }, dModel, c.seed + SEED_HEAD, opts);
  return Nes2Net.fromConfig(headConfig(c, dModel, classes), c.seed + SEED_HEAD, opts);
}

function assemble(c: TrainConfig, xlsr: XlsrModel, head: Nes2Net | ReferenceTracer): SpoofModel {
  return c.task === 'detect' ? new Detector(xlsr, head as Nes2Net) : new TracingModel(xlsr, head);
}

/** Outputs of the head the task needs: 2 for detection, the seen classes for tracing. */
function outputsOf(m: SpoofModel): number {
  return m instanceof Detector ? m.backend.config.nOut : m.classes;
}

/**
 * Builds the starting model. `open` gives the bytes of `c.init` (a file in Node, a fetch or File in a page).
 * `classes`: the number of outputs the head needs. `opts.engine`: where the model lives (default: current).
 */
export async function buildModel(c: TrainConfig, classes: number, open?: (path: string) => Promise<ByteSource>, opts: BuildOptions = {}): Promise<SpoofModel> {
  const overrides = c.dropout ? {} : { xlsr: NO_XLSR_DROPOUT };
  let model: SpoofModel;
  if (c.init) {
    if (!open) throw new ConfigError('init: no way to open checkpoint files here');
    const source = await open(c.init);
    try {
      const w = await loadWeights(source, { overrides });
      if (w.config.arch === 'xlsr') {
        const xlsr = await xlsrFromWeights(w, opts);
        model = assemble(c, xlsr, makeHead(c, xlsr.config.dModel, classes, opts));
      } else {
        model = c.task === 'detect' ? await Detector.load(w, opts) : await TracingModel.load(w, opts);
        if (outputsOf(model) !== classes) {
          const n = outputsOf(model);
          model.dispose();
          throw new ConfigError(`${c.init}: the head has ${n} outputs, the ${c.task === 'detect' ? 'detection task needs 2' : `lists have ${classes} classes`}`);
        }
      }
    } finally {
      await source.close?.();
    }
  } else {
    const base = c.preset === 'tiny' ? XLSR_TINY : XLSR_300M;
    const xlsr = XlsrModel.fromConfig({ ...base, ...overrides.xlsr }, c.seed + SEED_XLSR, opts);
    model = assemble(c, xlsr, makeHead(c, xlsr.config.dModel, classes, opts));
  }
  model.xlsr.setFrozen(c.freeze);
  model.xlsr.checkpointLayers = c.checkpointActivations;
  return model;
}
