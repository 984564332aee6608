// The MultiAPI-Spoof API-tracing head (spec model-nes2net-la.md §12, `XLSR2_AASIST_api.py`): every XLS-R layer's
// raw output concatenated along time, layer-major → multi-head self-attention with biases (fused kernel, the
// 24·T × 24·T matrix is never materialised) → mean over tokens → Linear d→H → SELU → Linear H→K → SELU.
import { noGrad, Rng, tidy, type Tensor } from '../../engine/index.ts';
import { add, concat, matmul, mean, selu, slice } from '../../kernels/index.ts';
import { multiHeadAttention } from '../../kernels/attention.ts';
import type { LoadedWeights } from '../io/index.ts';
import { tracerParams, type TracerConfig } from './config.ts';
import type { ParamSpec } from '../param-spec.ts';
import { Params, readHostValues, uniformValues, type HostValue } from '../nes2net/params.ts';
import { DEFAULT_OPEN_SET_THRESHOLD, openSetDecisions, type TracePrediction } from './open-set.ts';

export interface TracerOutput {
  /** SELU outputs used as logits by the reference (bounded below by −1.7581), [B, K]. */
  logits: Tensor;
  /** Mean of the attention output over all tokens, [B, d]. */
  pooled: Tensor;
}

const PREFIX = 'tracer';

export class ReferenceTracer {
  private constructor(
    readonly config: TracerConfig,
    readonly dModel: number,
    readonly params: Params,
  ) {}

  static specs(config: TracerConfig, dModel: number): ParamSpec[] {
    return tracerParams(config, dModel, `${PREFIX}.`);
  }

  static fromHost(config: TracerConfig, dModel: number, values: ReadonlyMap<string, HostValue>): ReferenceTracer {
    if (!(dModel > 0 && dModel % config.heads === 0)) throw new Error(`ReferenceTracer: width ${dModel} is not divisible by ${config.heads} heads`);
    return new ReferenceTracer(config, dModel, new Params(ReferenceTracer.specs(config, dModel), (s) => values.get(s.name)));
  }

  static async load(weights: LoadedWeights): Promise<ReferenceTracer> {
    const c = weights.config.tracer;
    if (!c) throw new Error(`${weights.file}: holds no tracing head (arch ${weights.config.arch})`);
    const d = weights.config.xlsr.dModel;
    return ReferenceTracer.fromHost(c, d, await readHostValues(weights, ReferenceTracer.specs(c, d)));
  }

  /** PyTorch's initialisation: in_proj Xavier-uniform, attention biases 0, linears U(±1/√fan_in). Seeded. */
  static init(config: TracerConfig, dModel: number, seed = 0): ReferenceTracer {
    const rng = new Rng(seed);
    const values = new Map<string, HostValue>();
    for (const s of ReferenceTracer.specs(config, dModel)) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (s.name.endsWith('in_proj.weight')) values.set(s.name, uniformValues(n, Math.sqrt(6 / (dModel + dModel)), rng));
      else if (s.name.startsWith(`${PREFIX}.attn.`) && s.name.endsWith('bias')) values.set(s.name, new Float32Array(n));
      else {
        const fanIn = s.name.endsWith('bias') ? (s.name.includes('fc3') ? config.hidden : dModel) : s.shape[1];
        values.set(s.name, uniformValues(n, 1 / Math.sqrt(fanIn), rng));
      }
    }
    return ReferenceTracer.fromHost(config, dModel, values);
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
    const p = this.params;
    const linear = (x: Tensor, name: string) => add(matmul(x, p.get(`${PREFIX}.${name}.weight`), { transB: true }), p.get(`${PREFIX}.${name}.bias`));
    return tidy(() => {
      const x = layers.length === 1 ? layers[0] : concat(layers, 1); // [B, L·T, d], layer-major
      const w = p.get(`${PREFIX}.attn.in_proj.weight`);
      const b = p.get(`${PREFIX}.attn.in_proj.bias`);
      const a = multiHeadAttention(x, {
        heads: this.config.heads,
        wq: slice(w, 0, 0, d),
        wk: slice(w, 0, d, 2 * d),
        wv: slice(w, 0, 2 * d, 3 * d),
        bq: slice(b, 0, 0, d),
        bk: slice(b, 0, d, 2 * d),
        bv: slice(b, 0, 2 * d, 3 * d),
        wo: p.get(`${PREFIX}.attn.out_proj.weight`),
        bo: p.get(`${PREFIX}.attn.out_proj.bias`),
      });
      const pooled = mean(a, 1);
      const logits = selu(linear(selu(linear(pooled, 'fc1')), 'fc3'));
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

  parameterCount(): number {
    return this.params.count();
  }

  dispose(): void {
    this.params.dispose();
  }
}
