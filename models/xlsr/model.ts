// The XLS-R (wav2vec 2.0, pre-LN, layer-norm extractor) encoder: fairseq's
// extract_features(source, padding_mask, mask=False, features_only=True) (spec model-xlsr.md §3), with autograd,
// train/eval modes, padding, freezing and per-layer activation checkpointing. Three stages that a benchmark
// can time apart: featureEncoder (conv blocks → LN → projection), positional (pos conv add), transformer
// (pre-LN layers → final LN).
import { engineOf, isGradEnabled, noGrad, tensor, tidy, type Rng, type Tensor } from '../../engine/index.ts';
import { add, addScalar, div, dropoutSeed, gelu, mul, reshape, rsqrt, sub, sum } from '../../kernels/index.ts';
import { rngHash, rngUniform } from '../../kernels/rng.ts';
import { build, checkpoint, Conv1d, Dropout, gradScale, LayerNorm, Module, ModuleList, orderedRandomSource, type ParamBuilder } from '../../nn/index.ts';
import { sourceOf, type BuildOptions, type ModelInit } from '../model-init.ts';
import type { ParamSpec } from '../param-spec.ts';
import { frameCount, receptiveField, xlsrParams, type XlsrConfig } from './config.ts';
import { ConvBlock, EncoderLayer, Projection } from './modules.ts';

/** The canonical prefix of XLS-R tensors (models/io/mapping.ts); names from the module itself are relative. */
export const PREFIX = 'xlsr.';

/**
 * Which parameters train: 'none' frozen (all trainable), 'all' frozen, 'feature-encoder' (the conv blocks), or a
 * number N: the conv blocks, the feature projection, the positional conv and encoder layers 0…N−1.
 */
export type FreezeSpec = 'none' | 'all' | 'feature-encoder' | number;

export interface XlsrForwardOptions {
  /** Valid samples of each batch row (zero padding after them); default: every row is full length. */
  lengths?: readonly number[];
  /** Train mode: dropouts and layerdrop of the config are active (default false = eval). */
  training?: boolean;
  /** Dropout / layerdrop randomness: a run is a pure function of (seed, step). */
  seed?: number;
  step?: number;
  /** Return every layer's raw output (no final LN), `layers[l]` [B, T, d]. */
  outputLayers?: boolean;
  /** Return `features` [B, T, C] (conv output after the projection LayerNorm; dropout_features in training). */
  outputFeatures?: boolean;
  /** Zero-mean unit-variance per utterance over its valid samples (default: the model's `normalize`, off). */
  normalize?: boolean;
  /** Recompute each layer in backward instead of keeping its activations (default: the model's setting). */
  checkpoint?: boolean;
}

export interface XlsrOutput {
  /** Final-LN output [B, T, d] (fairseq res['x'], HF last_hidden_state). */
  x: Tensor;
  /** Raw outputs of the layers (a layer skipped by layerdrop passes its input through). */
  layers?: Tensor[];
  features?: Tensor;
  /** Valid frames per batch row. */
  frameLengths: number[];
}

/** Context of one forward call shared by the stages. */
export interface XlsrRun {
  B: number;
  T: number;
  training: boolean;
  seed: number;
  step: number;
  frameLengths: number[];
  /** [B, T] f32, 1 at padded frames; null when nothing is padded. */
  keyPadding: Tensor | null;
  /** [B, T, 1] f32, 1 at valid frames; null when nothing is padded. */
  frameMask: Tensor | null;
}

/** Dropout sites, so that every dropout of a forward call gets its own seed. */
const SITE = { input: 0, features: 1, pos: 2, layer: 16 } as const;
const PER_LAYER = 8;
const LAYERDROP_TAG = 0x6c647270;

export class XlsrModel extends Module {
  /** Default of the `normalize` forward option. */
  normalize = false;
  /** Default of the `checkpoint` forward option. */
  checkpointLayers = false;
  readonly conv: ModuleList<ConvBlock>;
  readonly proj: Projection;
  readonly posConv: Conv1d;
  readonly layers: ModuleList<EncoderLayer>;
  readonly finalNorm: LayerNorm;
  private readonly dropout: Dropout;
  private readonly dropoutInput: Dropout;
  private readonly dropoutFeatures: Dropout;
  private readonly activationDropout: Dropout;

  /** Builds the tree from `p` (scoped to the XLS-R prefix); use fromConfig / load. */
  constructor(p: ParamBuilder, readonly config: XlsrConfig) {
    super();
    const c = config;
    const inChannels = [1, ...c.convLayers.map(([ch]) => ch)];
    this.conv = this.child(p, 'conv', (q) => new ModuleList(q, c.convLayers.length, (r, i) => new ConvBlock(r, inChannels[i], c.convLayers[i], c)));
    const C = inChannels[c.convLayers.length];
    this.proj = this.child(p, 'proj', (q) => new Projection(q, C, c));
    this.posConv = this.child(p, 'pos_conv', (q) => new Conv1d(q, { inChannels: c.dModel, outChannels: c.dModel, kernel: c.posConvKernel, groups: c.posConvGroups, weightNorm: true }));
    this.layers = this.child(p, 'layers', (q) => new ModuleList(q, c.layers, (r) => new EncoderLayer(r, c)));
    this.finalNorm = this.child(p, 'final_norm', (q) => new LayerNorm(q, c.dModel, c.layerNormEps));
    this.dropout = new Dropout(c.dropout);
    this.dropoutInput = new Dropout(c.dropoutInput);
    this.dropoutFeatures = new Dropout(c.dropoutFeatures);
    this.activationDropout = new Dropout(c.activationDropout);
  }

  /**
   * An XLS-R of `config` from `init`: a seed (random, see randomXlsrValues) or a source of tensors under the
   * canonical `xlsr.` names (host values, a state dict, tensors read from a weight file). Every parameter is
   * trainable; freeze with setFrozen. `opts.engine`: where it lives (default: the current engine).
   */
  static fromConfig(config: XlsrConfig, init: ModelInit = 0, opts: BuildOptions = {}): XlsrModel {
    const source = typeof init === 'number' ? orderedRandomSource(xlsrParams(config), init, randomXlsrValues) : sourceOf(init);
    return build(source, PREFIX, (p) => new XlsrModel(p, config), opts.engine);
  }

  /** Sets which parameters train (see FreezeSpec). */
  setFrozen(spec: FreezeSpec): this {
    this.unfreeze();
    if (spec === 'none') return this;
    if (spec === 'all') return this.freeze();
    this.freeze('conv');
    if (spec === 'feature-encoder') return this;
    if (!Number.isInteger(spec) || spec < 0 || spec > this.config.layers) throw new Error(`freeze: ${spec} is not a layer count in 0..${this.config.layers}`);
    this.freeze('proj').freeze('pos_conv');
    for (let l = 0; l < spec; l++) this.freeze(`layers.${l}`);
    return this;
  }

  /** Trainable parameters (requiresGrad). */
  trainable(): Tensor[] {
    return [...this.trainableParameters().values()];
  }

  /** Valid frames for `samples` samples; throws for inputs shorter than the receptive field. */
  frames(samples: number): number {
    const T = frameCount(samples, this.config.convLayers);
    if (T < 1) throw new Error(`XLS-R: an input of ${samples} samples is shorter than the ${receptiveField(this.config.convLayers)}-sample receptive field (no frame)`);
    return T;
  }

  forward(wav: Tensor, opts: XlsrForwardOptions = {}): XlsrOutput {
    // tidy frees the masks and every stage output that is not returned (autograd keeps what backward needs).
    return tidy(() => {
      const run = this.begin(wav, opts);
      const { y, features } = this.featureEncoder(wav, run, opts);
      const x0 = this.positional(y, run);
      const { x, layers } = this.transformer(x0, run, opts);
      return { x, layers, features, frameLengths: run.frameLengths };
    });
  }

  /** Checks the input and builds the padding masks of one call (stage-by-stage use: free them with end()). */
  begin(wav: Tensor, opts: XlsrForwardOptions = {}): XlsrRun {
    if (wav.rank !== 2 || wav.dtype !== 'f32') throw new Error(`XLS-R: input must be f32 [batch, samples], got ${wav.describe()}`);
    const [B, L] = wav.shape;
    const lengths = opts.lengths ?? new Array<number>(B).fill(L);
    if (lengths.length !== B) throw new Error(`XLS-R: ${lengths.length} lengths given for a batch of ${B}`);
    for (const n of lengths) {
      if (!Number.isInteger(n) || n > L) throw new Error(`XLS-R: length ${n} is not an integer ≤ ${L} samples`);
    }
    const T = this.frames(L);
    const frameLengths = lengths.map((n) => this.frames(n));
    let keyPadding: Tensor | null = null;
    let frameMask: Tensor | null = null;
    if (frameLengths.some((t) => t < T)) {
      const pad = new Float32Array(B * T);
      for (let b = 0; b < B; b++) pad.fill(1, b * T + frameLengths[b], (b + 1) * T);
      // On the input's engine: an input of another engine than the weights then fails in its first op, by name.
      const engine = engineOf('XLS-R', [wav]);
      keyPadding = tensor(pad, [B, T], 'f32', engine);
      frameMask = tensor(pad.map((v) => 1 - v), [B, T, 1], 'f32', engine);
    }
    return { B, T, training: opts.training ?? this.training, seed: opts.seed ?? 0, step: opts.step ?? 0, frameLengths, keyPadding, frameMask };
  }

  private drop(x: Tensor, d: Dropout, run: XlsrRun, site: number): Tensor {
    return d.forward(x, run.training, () => dropoutSeed(run.seed, run.step, site));
  }

  /** Optional normalisation, the conv blocks, the projection LayerNorm (= features) and the projection. */
  featureEncoder(wav: Tensor, run: XlsrRun, opts: XlsrForwardOptions = {}): { y: Tensor; features?: Tensor } {
    const c = this.config;
    return tidy(() => {
      const normalize = opts.normalize ?? this.normalize;
      const input = normalize ? normalizeRows(wav, opts.lengths) : wav;
      const conv = () =>
        tidy(() => {
          // Channels-last throughout ([B, L, C]: the LayerNorm's layout); [B, L, 1] is the waveform as it is.
          let h = reshape(input, [run.B, wav.shape[1], 1]);
          for (const block of this.conv.items) h = gelu(block.norm.forward(block.forwardChannelsLast(h)));
          return h; // [B, T, C]
        });
      // feature_grad_mult: 0 = the CNN gets no gradient; (0, 1) scales the gradient leaving it.
      const cnn = c.featureGradMult === 0 ? noGrad(conv) : gradScale(conv(), c.featureGradMult);
      const features = this.proj.norm.forward(cnn);
      const y = this.drop(this.proj.forward(features), this.dropoutInput, run, SITE.input);
      if (!opts.outputFeatures) return { y };
      return { y, features: this.drop(features, this.dropoutFeatures, run, SITE.features) };
    });
  }

  /** x = y + GELU(pos_conv(y)) with padded frames zeroed first, then dropout. */
  positional(y: Tensor, run: XlsrRun): Tensor {
    const K = this.config.posConvKernel;
    return tidy(() => {
      const masked = run.frameMask ? mul(y, run.frameMask) : y;
      // SamePad: an even kernel with padding K/2 gives T + 1 frames; the last is dropped (never computed).
      const pc = this.posConv.forwardChannelsLast(masked, { padding: Math.floor(K / 2), trimEnd: K % 2 === 0 ? 1 : 0 });
      const x = add(masked, gelu(pc));
      return this.drop(x, this.dropout, run, SITE.pos);
    });
  }

  /** The pre-LN layers (layerdrop, checkpointing) and the final LayerNorm. */
  transformer(x0: Tensor, run: XlsrRun, opts: XlsrForwardOptions = {}): { x: Tensor; layers?: Tensor[] } {
    const c = this.config;
    const useCheckpoint = (opts.checkpoint ?? this.checkpointLayers) && isGradEnabled();
    const layers: Tensor[] = [];
    let x = x0;
    for (let l = 0; l < c.layers; l++) {
      const skip = run.training && c.layerdrop > 0 && rngUniform(rngHash(run.seed >>> 0, run.step >>> 0, l, LAYERDROP_TAG)) < c.layerdrop;
      if (!skip) {
        // The key-padding mask travels as checkpoint context: the recompute in backward runs after forward freed it.
        const fn = (h: Tensor, ctx: readonly Tensor[]) => this.layer(l, h, { ...run, keyPadding: ctx[0] ?? null });
        const ctx = run.keyPadding ? [run.keyPadding] : [];
        const next = useCheckpoint ? checkpoint(fn, x, [...this.layers.at(l).namedParameters().values()], ctx) : fn(x, ctx);
        if (!opts.outputLayers && x !== x0) x.dispose();
        x = next;
      }
      if (opts.outputLayers) layers.push(x);
    }
    const out = this.finalNorm.forward(x);
    if (!opts.outputLayers && x !== x0) x.dispose();
    return opts.outputLayers ? { x: out, layers } : { x: out };
  }

  /** One pre-LN encoder layer (spec model-xlsr.md §3). */
  layer(l: number, x: Tensor, run: XlsrRun): Tensor {
    const c = this.config;
    const m = this.layers.at(l);
    const site = SITE.layer + PER_LAYER * l;
    return tidy(() => {
      const h = m.attnNorm.forward(x);
      const attnDrop = run.training ? c.attentionDropout : 0;
      const a = m.attn.forward(h, {
        heads: c.heads,
        scale: 1 / Math.sqrt(c.dModel / c.heads),
        keyPaddingMask: run.keyPadding ?? undefined,
        dropout: attnDrop,
        seed: attnDrop > 0 ? dropoutSeed(run.seed, run.step, site) : undefined,
      });
      const x1 = add(x, this.drop(a, this.dropout, run, site + 1));
      const h2 = m.ffnNorm.forward(x1);
      const f1 = this.drop(gelu(m.ffn.fc1.forward(h2)), this.activationDropout, run, site + 2);
      const f2 = this.drop(m.ffn.fc2.forward(f1), this.dropout, run, site + 3);
      return add(x1, f2);
    });
  }

  end(run: XlsrRun): void {
    run.keyPadding?.dispose();
    run.frameMask?.dispose();
  }
}

/** Host values for one random parameter: LayerNorm weight 1 and biases 0 (as PyTorch initialises them), weight_g
 *  positive, other weights uniform with variance 1/fan_in. */
export function randomXlsrValues(spec: ParamSpec, rng: Rng): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  const name = spec.name;
  if (name.endsWith('norm.weight')) v.fill(1);
  else if (name.endsWith('.bias')) v.fill(0);
  else if (name.endsWith('weight_g')) for (let i = 0; i < n; i++) v[i] = 0.5 + rng.uniform();
  else {
    const fanIn = spec.shape.slice(1).reduce((a, b) => a * b, 1);
    const a = Math.sqrt(3 / fanIn);
    for (let i = 0; i < n; i++) v[i] = (2 * rng.uniform() - 1) * a;
  }
  return v;
}

/** (x − mean)/√(var + 1e-5) per row over its first lengths[b] samples (biased variance); padding stays 0. */
export function normalizeRows(wav: Tensor, lengths?: readonly number[]): Tensor {
  const [B, L] = wav.shape;
  return tidy(() => {
    const n = lengths ?? new Array<number>(B).fill(L);
    const maskHost = new Float32Array(B * L);
    for (let b = 0; b < B; b++) maskHost.fill(1, b * L, b * L + n[b]);
    const engine = engineOf('normalizeRows', [wav]);
    const mask = tensor(maskHost, [B, L], 'f32', engine);
    const count = tensor(Float32Array.from(n), [B, 1], 'f32', engine);
    const mean = div(sum(mul(wav, mask), 1, { keepDims: true }), count);
    const d = mul(sub(wav, mean), mask);
    const v = div(sum(mul(d, d), 1, { keepDims: true }), count);
    return mul(d, rsqrt(addScalar(v, 1e-5)));
  });
}
