// The MultiAPI-Spoof API-tracing head (spec model-nes2net-la.md §12, `XLSR2_AASIST_api.py`): every XLS-R layer's
// raw output concatenated along time, layer-major → multi-head self-attention with biases (fused kernel, the
// 24·T × 24·T matrix is never materialised) → mean over tokens → Linear d→H → SELU → Linear H→K → SELU.
import { noGrad, type Rng, tidy, type Tensor } from '../../engine/index.ts';
import { concat, mean, selu, slice } from '../../kernels/index.ts';
import { multiHeadAttention } from '../../kernels/attention.ts';
import { build, Linear, Module, orderedRandomSource, uniformValues, type ParamBuilder } from '../../nn/index.ts';
import type { LoadedWeights } from '../io/index.ts';
import type { ParamSpec } from '../param-spec.ts';
import { buildFromWeights, sourceOf, type BuildOptions, type ModelInit } from '../model-init.ts';
import { tracerParams, type TracerConfig } from './config.ts';
import { DEFAULT_OPEN_SET_THRESHOLD, openSetDecisions, type TracePrediction } from './open-set.ts';

export interface TracerOutput {
  /** SELU outputs used as logits by the reference (bounded below by −1.7581), [B, K]. */
  logits: Tensor;
  /** Mean of the attention output over all tokens, [B, d]. */
  pooled: Tensor;
}

const PREFIX = 'tracer.';

/** nn.MultiheadAttention's packed projections: in_proj [3d, d] (q, k, v stacked) and out_proj. */
export class PackedAttention extends Module {
  readonly inProjWeight: Tensor;
  readonly inProjBias: Tensor;
  readonly outProj: Linear;

  constructor(p: ParamBuilder, d: number) {
    super();
    this.inProjWeight = this.param(p, 'in_proj.weight', [3 * d, d]);
    this.inProjBias = this.param(p, 'in_proj.bias', [3 * d]);
    this.outProj = this.child(p, 'out_proj', (q) => new Linear(q, d, d));
  }
}

export class ReferenceTracer extends Module {
  readonly attn: PackedAttention;
  readonly fc1: Linear;
  readonly fc3: Linear;

  /** Builds the tree from `p` (scoped to the `tracer.` prefix); use fromConfig / load. */
  constructor(p: ParamBuilder, readonly config: TracerConfig, readonly dModel: number) {
    super();
    if (!(dModel > 0 && dModel % config.heads === 0)) throw new Error(`ReferenceTracer: width ${dModel} is not divisible by ${config.heads} heads`);
    this.attn = this.child(p, 'attn', (q) => new PackedAttention(q, dModel));
    this.fc1 = this.child(p, 'fc1', (q) => new Linear(q, dModel, config.hidden));
    this.fc3 = this.child(p, 'fc3', (q) => new Linear(q, config.hidden, config.classes));
  }

  static specs(config: TracerConfig, dModel: number): ParamSpec[] {
    return tracerParams(config, dModel, PREFIX);
  }

  /** From a seed (PyTorch's initialisation: in_proj Xavier-uniform, attention biases 0, linears U(±1/√fan_in))
   *  or values / a source under the canonical names; on `opts.engine` (default: the current one). */
  static fromConfig(config: TracerConfig, dModel: number, init: ModelInit = 0, opts: BuildOptions = {}): ReferenceTracer {
    const specs = ReferenceTracer.specs(config, dModel);
    const source = typeof init === 'number' ? orderedRandomSource(specs, init, (s, rng) => initValues(config, dModel, s, rng)) : sourceOf(init);
    return build(source, PREFIX, (p) => new ReferenceTracer(p, config, dModel), opts.engine);
  }

  static async load(weights: LoadedWeights, opts: BuildOptions = {}): Promise<ReferenceTracer> {
    const c = weights.config.tracer;
    if (!c) throw new Error(`${weights.file}: holds no tracing head (arch ${weights.config.arch})`);
    const d = weights.config.xlsr.dModel;
    return buildFromWeights(weights, ReferenceTracer.specs(c, d), (source) => ReferenceTracer.fromConfig(c, d, source, opts), opts);
  }

  /** Forward on the raw outputs of every XLS-R layer, each [B, T, d] (layer order = concatenation order). */
  forward(layers: readonly Tensor[]): TracerOutput {
    const d = this.dModel;
    if (layers.length === 0) throw new Error('ReferenceTracer: no layer outputs given');
    const s0 = layers[0].shape;
    for (const [i, l] of layers.entries()) {
      if (l.rank !== 3 || l.shape[0] !== s0[0] || l.shape[1] !== s0[1] || l.shape[2] !== d) {
        throw new Error(`ReferenceTracer: layer output ${i} is [${l.shape.join(', ')}], expected [${s0[0]}, ${s0[1]}, ${d}] like layer 0`);
      }
    }
    return tidy(() => {
      const x = layers.length === 1 ? layers[0] : concat(layers, 1); // [B, L·T, d], layer-major
      const w = this.attn.inProjWeight;
      const b = this.attn.inProjBias;
      const a = multiHeadAttention(x, {
        heads: this.config.heads,
        wq: slice(w, 0, 0, d),
        wk: slice(w, 0, d, 2 * d),
        wv: slice(w, 0, 2 * d, 3 * d),
        bq: slice(b, 0, 0, d),
        bk: slice(b, 0, d, 2 * d),
        bv: slice(b, 0, 2 * d, 3 * d),
        wo: this.attn.outProj.weight,
        bo: this.attn.outProj.bias!,
      });
      const pooled = mean(a, 1);
      const logits = selu(this.fc3.forward(selu(this.fc1.forward(pooled))));
      return { logits, pooled };
    });
  }

  /** Eval-mode class probabilities and open-set decisions (no graph recorded). */
  async predict(layers: readonly Tensor[], threshold = DEFAULT_OPEN_SET_THRESHOLD): Promise<TracePrediction[]> {
    const logits = noGrad(() => tidy(() => this.forward(layers).logits));
    try {
      return openSetDecisions(await logits.data(), this.config.classes, threshold);
    } finally {
      logits.dispose();
    }
  }

}

function initValues(config: TracerConfig, dModel: number, s: ParamSpec, rng: Rng): Float32Array {
  const n = s.shape.reduce((a, b) => a * b, 1);
  if (s.name.endsWith('in_proj.weight')) return uniformValues(n, Math.sqrt(6 / (dModel + dModel)), rng);
  if (s.name.startsWith(`${PREFIX}attn.`) && s.name.endsWith('bias')) return new Float32Array(n);
  const fanIn = s.name.endsWith('bias') ? (s.name.includes('fc3') ? config.hidden : dModel) : s.shape[1];
  return uniformValues(n, 1 / Math.sqrt(fanIn), rng);
}
