// Nes2Net-X and Nes2Net-LA back-ends (spec model-nes2net-la.md §1, §4–§7) on XLS-R features [B, T, D]:
// the nested chain of Bottle2necks over n1 channel groups, the optional local-window attention over the group
// tokens, and the head BN(D) → ReLU → mean over time → Linear(D → n_out). score = logit of class 1.
import { noGrad, type Rng, tidy, type Tensor } from '../../engine/index.ts';
import { add, concat, dropoutSeed, mean, permute, relu, reshape, slice } from '../../kernels/index.ts';
import { BatchNorm1d, build, Linear, Module, ModuleList, orderedRandomSource, uniformValues, type ParamBuilder } from '../../nn/index.ts';
import type { LoadedWeights } from '../io/index.ts';
import type { ParamSpec } from '../param-spec.ts';
import { buildFromWeights, sourceOf, type BuildOptions, type ModelInit } from '../model-init.ts';
import { nes2netParams, type Nes2NetConfig } from './config.ts';
import { Bottle2neck, geometry, GroupAttention, reluBn, type RunContext } from './layers.ts';

/** Dropout layer ids of the back-end (dropoutSeed's `layer`): block b uses base + b, the LA block base + 100. */
export const NES2NET_DROPOUT_LAYER = 1000;

export interface Nes2NetForwardOptions {
  /** Train mode: BatchNorm batch statistics (and running-stat updates), dropout active. Default false. */
  training?: boolean;
  /** Dropout seeds are dropoutSeed(seed, step, layer). */
  seed?: number;
  step?: number;
  /** Also return every stage's activations (for parity tests and inspection). */
  stages?: boolean;
}

export interface Nes2NetStages {
  /** Raw output of each Bottle2neck (before the outer ReLU → BN), [B, C, T]. */
  blocks: Tensor[];
  /** The n1 groups after the nested chain, [B, n1, C, T]. */
  groups: Tensor;
  /** After the local-window attention (LA only), [B, n1, C, T]. */
  la?: Tensor;
  /** Time-pooled head features, [B, D]. */
  pooled: Tensor;
}

export interface Nes2NetOutput {
  logits: Tensor;
  stages?: Nes2NetStages;
}

const PREFIX = 'nes2net.';

export class Nes2Net extends Module {
  readonly blocks: ModuleList<Bottle2neck>;
  readonly bns: ModuleList<BatchNorm1d>;
  readonly bn: BatchNorm1d;
  readonly fc: Linear;
  readonly la: GroupAttention | null;

  /** Builds the tree from `p` (scoped to the `nes2net.` prefix); use fromConfig / load. */
  constructor(p: ParamBuilder, readonly config: Nes2NetConfig) {
    super();
    checkConfig(config);
    const { n1, C } = geometry(config);
    this.blocks = this.child(p, 'blocks', (q) => new ModuleList(q, n1 - 1, (r) => new Bottle2neck(r, config)));
    this.bns = this.child(p, 'bns', (q) => new ModuleList(q, n1 - 1, (r) => new BatchNorm1d(r, C)));
    this.bn = this.child(p, 'bn', (q) => new BatchNorm1d(q, config.inputDim));
    this.fc = this.child(p, 'fc', (q) => new Linear(q, config.inputDim, config.nOut));
    this.la = config.la ? this.child(p, 'la', (q) => new GroupAttention(q, config)) : null;
  }

  /** The canonical tensors of this configuration (models/io/mapping.ts). */
  static specs(config: Nes2NetConfig): ParamSpec[] {
    return nes2netParams(config, PREFIX);
  }

  /**
   * From a seed: PyTorch's default initialisation: convs and linears U(±1/√fan_in) (kaiming_uniform with a = √5,
   * and the bias rule), BN weight 1 / bias 0 / running mean 0 / running var 1, weighted sums 1/(j+2), pos_emb ~
   * N(0, 0.02) (truncated normal approximated by a clipped uniform of the same std); seeded, identical
   * everywhere. Or from values / a source under the canonical names. Built on `opts.engine` (default: current).
   */
  static fromConfig(config: Nes2NetConfig, init: ModelInit = 0, opts: BuildOptions = {}): Nes2Net {
    checkConfig(config);
    const specs = Nes2Net.specs(config);
    const source = typeof init === 'number' ? orderedRandomSource(specs, init, (s, rng) => initValues(config, specs, s, rng)) : sourceOf(init);
    return build(source, PREFIX, (p) => new Nes2Net(p, config), opts.engine);
  }

  /** From loaded weights (a converted safetensors file or the MultiAPI-Spoof checkpoint), on `opts.engine`. */
  static async load(weights: LoadedWeights, opts: BuildOptions & { config?: Nes2NetConfig } = {}): Promise<Nes2Net> {
    const config = opts.config ?? weights.config.nes2net;
    if (!config) throw new Error(`${weights.file}: holds no Nes2Net back-end (arch ${weights.config.arch})`);
    checkConfig(config);
    return buildFromWeights(weights, Nes2Net.specs(config), (source) => Nes2Net.fromConfig(config, source, opts), opts);
  }

  /** Back-end forward on features [B, T, D] (XLS-R output after its final LayerNorm). */
  forward(features: Tensor, opts: Nes2NetForwardOptions = {}): Nes2NetOutput {
    const c = this.config;
    const { n1, C } = geometry(c);
    if (features.rank !== 3 || features.shape[2] !== c.inputDim) {
      throw new Error(`Nes2Net: features must be [B, T, ${c.inputDim}], got [${features.shape.join(', ')}]`);
    }
    const [B, T] = features.shape;
    const ctx: RunContext = {
      training: opts.training ?? this.training,
      seedFor: (layer) => dropoutSeed(opts.seed ?? 0, opts.step ?? 0, NES2NET_DROPOUT_LAYER + layer),
    };
    if (ctx.training && B * T < 2) throw new Error(`Nes2Net: train mode needs more than one frame in the batch (BatchNorm statistics), got B ${B}, T ${T}`);
    return tidy(() => {
      const x = permute(features, [0, 2, 1]); // [B, D, T]
      const blocks: Tensor[] = [];
      const ys: Tensor[] = [];
      for (let i = 0; i < n1 - 1; i++) {
        const xi = slice(x, 1, i * C, (i + 1) * C);
        const b = this.blocks.at(i).forward(i === 0 ? xi : add(ys[i - 1], xi), ctx, i);
        blocks.push(b);
        ys.push(reluBn(this.bns.at(i), b, ctx));
      }
      ys.push(slice(x, 1, (n1 - 1) * C, n1 * C));
      const groups = concat(ys.map((y) => reshape(y, [B, 1, C, T])), 1); // [B, n1, C, T]
      const la = this.la ? this.la.forward(groups, ctx, 100) : undefined;
      const h = relu(this.bn.forward(reshape(la ?? groups, [B, c.inputDim, T]), ctx.training));
      const pooled = mean(h, 2);
      const logits = this.fc.forward(pooled);
      return opts.stages ? { logits, stages: { blocks, groups, la, pooled } } : { logits };
    });
  }

  /** Eval-mode logits without recording a graph. */
  infer(features: Tensor): Tensor {
    return noGrad(() => this.forward(features).logits);
  }

}

/** One tensor's initial values (see fromConfig). */
function initValues(config: Nes2NetConfig, specs: readonly ParamSpec[], s: ParamSpec, rng: Rng): Float32Array {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const leaf = s.name.slice(s.name.lastIndexOf('.') + 1);
  if (/\.weighted_sum\.\d+$/.test(s.name)) return new Float32Array(n).fill(1 / n);
  if (leaf === 'pos_emb') return uniformValues(n, 0.02 * Math.sqrt(3), rng);
  if (/\.(bn\d?|bns\.\d+)\.(weight|bias|running_mean|running_var)$/.test(s.name) || /^nes2net\.bn\./.test(s.name)) {
    return new Float32Array(n).fill(leaf === 'weight' || leaf === 'running_var' ? 1 : 0);
  }
  const weight = leaf === 'bias' ? specs.find((x) => x.name === s.name.replace(/bias$/, 'weight')) : s;
  if (!weight) throw new Error(`Nes2Net.fromConfig: no tensor ${s.name.replace(/bias$/, 'weight')}`);
  const fanIn = weight.shape.slice(1).reduce((a, b) => a * b, 1);
  return uniformValues(n, 1 / Math.sqrt(fanIn), rng);
}

function checkConfig(c: Nes2NetConfig): void {
  const [n1, n2] = c.nesRatio;
  const ok = (v: number) => Number.isInteger(v) && v > 0;
  if (!ok(n1) || !ok(n2) || n1 < 2 || n2 < 2 || c.inputDim % n1 !== 0 || !ok(c.seRatio) || (c.inputDim / n1) % c.seRatio !== 0 || Math.floor(c.inputDim / n1 / n2) < 1) {
    throw new Error(`Nes2Net: D ${c.inputDim}, Nes_ratio [${n1}, ${n2}] and SE ratio ${c.seRatio} do not divide evenly`);
  }
  if (!ok(c.kernel) || c.kernel % 2 !== 1 || !ok(c.dilation) || !ok(c.nOut)) throw new Error(`Nes2Net: kernel ${c.kernel} (odd), dilation ${c.dilation} and n_out ${c.nOut} must be positive integers`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`Nes2Net: dropout ${c.dropout} is not in [0, 1)`);
  if (c.la) {
    if (c.la.heads !== 1) throw new Error(`Nes2Net-LA: ${c.la.heads} heads: the reference never splits heads; only 1 is supported`);
    if (!ok(c.la.windowSize) || c.la.windowSize % 2 !== 1) throw new Error(`Nes2Net-LA: window ${c.la.windowSize} must be an odd positive integer`);
    if (!(c.la.dropout >= 0 && c.la.dropout < 1)) throw new Error(`Nes2Net-LA: attention dropout ${c.la.dropout} is not in [0, 1)`);
  }
}

/** Score of each row: the class-1 (bona fide) logit. Host side, from [B, 2] logits. */
export function scoresFromLogits(logits: ArrayLike<number>, nOut: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + nOut <= logits.length; i += nOut) out.push(logits[i + 1]);
  return out;
}
