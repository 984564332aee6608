// The Module contract: a tree of modules, each owning named parameters (trainable tensors), buffers (running
// statistics and integer counters) and child modules, so every tensor has one dotted name
// (`xlsr.layers.3.ffn.fc1.weight`) built from registrations, never from strings at call sites. Names are relative
// to the module (like PyTorch); whole models register their parts under the canonical prefixes.
import { engineOf, requiresGrad, tensor, type Engine, type Tensor } from '../engine/index.ts';
import { assign } from '../kernels/index.ts';
import type { ParamBuilder } from './builder.ts';
import { Counter } from './counter.ts';
import { assertCleanLoad, formatShape, nameMatcher, type LoadEntry, type LoadReport, type StateEntry } from './state-dict.ts';

export type BufferValue = Tensor | Counter;

type Entry = { kind: 'param'; tensor: Tensor } | { kind: 'buffer'; value: BufferValue } | { kind: 'child'; module: Module };

export interface NamedOptions {
  /** Prepended to every name (e.g. 'xlsr.' for a front-end used on its own). */
  prefix?: string;
  /** Only parameters that currently require a gradient. */
  trainable?: boolean;
}

export abstract class Module {
  /** Train mode (dropout, BatchNorm batch statistics); set for the whole tree by train() / eval(). */
  training = false;
  /** Parameters, buffers and children in registration order (names and walks follow it). */
  private readonly entries = new Map<string, Entry>();

  /** A trainable parameter `name` of this module, from the builder's source. */
  protected param(p: ParamBuilder, name: string, shape: readonly number[]): Tensor {
    return this.addParam(name, requiresGrad(p.get(name, shape)));
  }

  /** A float buffer (state that is saved but not trained). */
  protected buffer(p: ParamBuilder, name: string, shape: readonly number[]): Tensor {
    return this.addBuffer(name, p.get(name, shape, 'buffer'));
  }

  /** An integer counter buffer (BatchNorm's num_batches_tracked). */
  protected counter(p: ParamBuilder, name: string): Counter {
    return this.addBuffer(name, new Counter(p.count(name)));
  }

  /** A child module built by `make` from the builder scoped to `name`. */
  protected child<M extends Module>(p: ParamBuilder, name: string, make: (q: ParamBuilder) => M): M {
    return this.register(name, make(p.scope(name)));
  }

  /** Registers an already built module (a whole model assembled from its parts). */
  protected register<M extends Module>(name: string, m: M): M {
    this.claim(name, { kind: 'child', module: m });
    return m;
  }

  private addParam(name: string, t: Tensor): Tensor {
    this.claim(name, { kind: 'param', tensor: t });
    return t;
  }

  private addBuffer<B extends BufferValue>(name: string, b: B): B {
    this.claim(name, { kind: 'buffer', value: b });
    return b;
  }

  private claim(name: string, e: Entry): void {
    if (this.entries.has(name)) throw new Error(`${this.constructor.name}: '${name}' is registered twice`);
    this.entries.set(name, e);
  }

  /** This module and every descendant, by dotted name ('' for this one), in registration order. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, e] of this.entries) if (e.kind === 'child') out.push(...e.module.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** The engine this module's tensors live on (that of its first parameter or buffer); forward passes create
   *  their constants there or on their input's engine. Throws for a module without tensors. */
  get engine(): Engine {
    const first = this.namedTensors().values().next();
    if (first.done) throw new Error(`${this.constructor.name}: has no tensors, so no engine`);
    return engineOf(this.constructor.name, [first.value]);
  }

  /** Parameters (frozen ones too, unless `trainable`) by dotted name, in registration order. */
  namedParameters(opts: NamedOptions = {}): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.walk(opts.prefix ?? '', (name, e) => {
      if (e.kind === 'param' && (!opts.trainable || e.tensor.requiresGrad)) out.set(name, e.tensor);
    });
    return out;
  }

  /** Trainable parameters (requiresGrad), as optimizers take them. */
  trainableParameters(prefix = ''): Map<string, Tensor> {
    return this.namedParameters({ prefix, trainable: true });
  }

  /** Buffers (running statistics, counters) by dotted name. */
  namedBuffers(prefix = ''): Map<string, BufferValue> {
    const out = new Map<string, BufferValue>();
    this.walk(prefix, (name, e) => {
      if (e.kind === 'buffer') out.set(name, e.value);
    });
    return out;
  }

  /** Every float tensor (parameters then buffers of each module, in registration order), by dotted name. */
  namedTensors(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.walk(prefix, (name, e) => {
      if (e.kind === 'param') out.set(name, e.tensor);
      else if (e.kind === 'buffer' && !(e.value instanceof Counter)) out.set(name, e.value);
    });
    return out;
  }

  /** Trainable-or-not parameter count (buffers excluded). */
  parameterCount(): number {
    let n = 0;
    for (const t of this.namedParameters().values()) n += t.size;
    return n;
  }

  /** Host copies of all state, ready for safetensors: floats F32, counters I64 scalars. */
  async stateDict(prefix = ''): Promise<StateEntry[]> {
    const out: StateEntry[] = [];
    for (const [name, t] of this.namedTensors(prefix)) out.push({ name, dtype: 'F32', shape: [...t.shape], data: (await t.data()) as Float32Array });
    for (const [name, b] of this.namedBuffers(prefix)) if (b instanceof Counter) out.push({ name, dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(b.value)) });
    return out;
  }

  /**
   * Copies `dict` into this module's tensors (in place: optimizers keep their references). Returns what was
   * missing, unexpected or of the wrong shape; strict (default) throws naming them instead (an absent
   * num_batches_tracked is tolerated). Nothing is written when a strict load fails.
   */
  loadStateDict(dict: Iterable<LoadEntry> | ReadonlyMap<string, LoadEntry>, opts: { strict?: boolean; prefix?: string } = {}): LoadReport {
    const byName = new Map<string, LoadEntry>();
    for (const e of dict instanceof Map ? (dict as ReadonlyMap<string, LoadEntry>).values() : (dict as Iterable<LoadEntry>)) byName.set(e.name, e);
    const tensors = this.namedTensors(opts.prefix);
    const buffers = this.namedBuffers(opts.prefix);
    const counters = [...buffers].filter((e): e is [string, Counter] => e[1] instanceof Counter);
    const report: LoadReport = { missing: [], unexpected: [], wrongShape: [] };
    for (const [name, t] of tensors) {
      const e = byName.get(name);
      if (!e) report.missing.push(name);
      else if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i]) || e.data.length !== t.size) report.wrongShape.push(`${name}: ${formatShape(e.shape)} vs ${formatShape(t.shape)}`);
    }
    for (const [name] of counters) if (!byName.has(name)) report.missing.push(name);
    for (const name of byName.keys()) if (!tensors.has(name) && !buffers.has(name)) report.unexpected.push(name);
    if (opts.strict ?? true) assertCleanLoad(report);
    const bad = new Set(report.wrongShape.map((s) => s.slice(0, s.indexOf(':'))));
    for (const [name, t] of tensors) {
      const e = byName.get(name);
      if (!e || bad.has(name)) continue;
      if (e.data instanceof BigInt64Array) throw new Error(`loadStateDict: ${name} holds integers, expected floats`);
      const src = tensor(Float32Array.from(e.data), t.shape, 'f32', engineOf('loadStateDict', [t]));
      assign(t, src);
      src.dispose();
    }
    for (const [name, c] of counters) {
      const v = byName.get(name)?.data[0];
      if (v !== undefined) c.value = Number(v);
    }
    return report;
  }

  /** Sets the train-mode flag of this module and every descendant. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Stops gradients for the parameters whose dotted names match (glob or RegExp, see nameMatcher). */
  freeze(pattern: string | RegExp = '**'): this {
    return this.setTrainable(pattern, false);
  }

  unfreeze(pattern: string | RegExp = '**'): this {
    return this.setTrainable(pattern, true);
  }

  private setTrainable(pattern: string | RegExp, on: boolean): this {
    const match = nameMatcher(pattern);
    for (const [name, t] of this.namedParameters()) if (match(name)) requiresGrad(t, on);
    return this;
  }

  /** Frees every tensor of the tree (and their gradients), and what each module caches (dropCaches). */
  dispose(): void {
    for (const [, m] of this.namedModules()) m.dropCaches();
    for (const t of this.namedTensors().values()) {
      t.grad?.dispose();
      t.grad = null;
      t.dispose();
    }
  }

  /** Frees tensors a module derives from its parameters and keeps (none by default). */
  protected dropCaches(): void {}

  /** Visits every parameter and buffer of the tree, depth first in registration order. */
  private walk(prefix: string, visit: (name: string, e: Exclude<Entry, { kind: 'child' }>) => void): void {
    for (const [n, e] of this.entries) {
      if (e.kind === 'child') e.module.walk(`${prefix}${n}.`, visit);
      else visit(prefix + n, e);
    }
  }
}

/** Modules indexed 0…n−1 (names `layers.0`, `layers.1`, …). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[] = [];

  constructor(p: ParamBuilder, n: number, make: (q: ParamBuilder, i: number) => M) {
    super();
    for (let i = 0; i < n; i++) this.items.push(this.child(p, String(i), (q) => make(q, i)));
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new Error(`ModuleList: no item ${i} of ${this.items.length}`);
    return m;
  }
}
