// The nn Module contract on small hand-built modules: dotted names from registrations, the scoped builder's
// errors, freeze/unfreeze patterns, train/eval propagation, strict and lenient state-dict loads.
import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../engine/node.ts';
import {
  BatchNorm1d,
  build,
  Counter,
  hostSource,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  nameMatcher,
  orderedRandomSource,
  ParamBuilder,
  uniformValues,
  type ParamSource,
} from '../../nn/index.ts';
import { useEngine } from '../helpers/engine.ts';

useEngine();

class Block extends Module {
  readonly norm: LayerNorm;
  readonly fc1: Linear;
  readonly bn: BatchNorm1d;

  constructor(p: ParamBuilder) {
    super();
    this.norm = this.child(p, 'norm', (q) => new LayerNorm(q, 4));
    this.fc1 = this.child(p, 'fc1', (q) => new Linear(q, 4, 3));
    this.bn = this.child(p, 'bn', (q) => new BatchNorm1d(q, 3));
  }
}

class Net extends Module {
  readonly layers: ModuleList<Block>;
  readonly head: Linear;

  constructor(p: ParamBuilder) {
    super();
    this.layers = this.child(p, 'layers', (q) => new ModuleList(q, 2, (r) => new Block(r)));
    this.head = this.child(p, 'head', (q) => new Linear(q, 3, 2, { bias: false }));
  }
}

/** Every float tensor filled with (i + 1) / 10 in request order; counters 5. */
function countingSource(): ParamSource {
  let i = 0;
  return {
    value: (_path, shape, kind) => (kind === 'counter' ? 5 : new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(++i / 10)),
  };
}

const net = (source: ParamSource = countingSource()) => build(source, 'net.', (p) => new Net(p));

const PARAMS = [
  'layers.0.norm.weight', 'layers.0.norm.bias', 'layers.0.fc1.weight', 'layers.0.fc1.bias', 'layers.0.bn.weight', 'layers.0.bn.bias',
  'layers.1.norm.weight', 'layers.1.norm.bias', 'layers.1.fc1.weight', 'layers.1.fc1.bias', 'layers.1.bn.weight', 'layers.1.bn.bias',
  'head.weight',
];

describe('Module names', () => {
  it('dotted names in registration order; buffers (running stats, counters) apart from parameters', () => {
    const m = net();
    try {
      expect([...m.namedParameters().keys()]).toEqual(PARAMS);
      expect([...m.namedParameters({ prefix: 'net.' }).keys()][0]).toBe('net.layers.0.norm.weight');
      const buffers = m.namedBuffers();
      expect([...buffers.keys()]).toEqual([
        'layers.0.bn.running_mean', 'layers.0.bn.running_var', 'layers.0.bn.num_batches_tracked',
        'layers.1.bn.running_mean', 'layers.1.bn.running_var', 'layers.1.bn.num_batches_tracked',
      ]);
      expect(buffers.get('layers.1.bn.num_batches_tracked')).toBeInstanceOf(Counter);
      expect((buffers.get('layers.1.bn.num_batches_tracked') as Counter).value).toBe(5);
      expect(m.parameterCount()).toBe(2 * (4 + 4 + 12 + 3 + 3 + 3) + 6);
      // Tensors carry their full path (error messages name them).
      expect(m.head.weight.name).toBe('net.head.weight');
      expect(m.namedModules().map(([n]) => n)).toContain('layers.1.bn');
    } finally {
      m.dispose();
    }
  });

  it('registering a name twice throws', () => {
    class Twice extends Module {
      constructor(p: ParamBuilder) {
        super();
        this.child(p, 'a', (q) => new LayerNorm(q, 2));
        this.child(p, 'a', (q) => new LayerNorm(q, 2));
      }
    }
    expect(() => build(countingSource(), '', (p) => new Twice(p))).toThrow(/'a' is registered twice/);
  });
});

describe('ParamBuilder', () => {
  it('scope() joins parts with dots; get() names the full path and both shapes on absence or mismatch', () => {
    const empty = new ParamBuilder(hostSource(new Map()), 'xlsr.');
    expect(empty.scope('layers', 3).path('ffn.fc1.weight')).toBe('xlsr.layers.3.ffn.fc1.weight');
    expect(() => empty.scope('layers', 3).get('ffn.fc1.weight', [8, 4])).toThrow('xlsr.layers.3.ffn.fc1.weight: missing, expected [8, 4]');
    const shaped = new ParamBuilder(hostSource(new Map([['m.w', { shape: [4, 8], data: new Float32Array(32) }]])));
    expect(() => shaped.scope('m').get('w', [8, 4])).toThrow('m.w: shape [4, 8], expected [8, 4]');
    const flat = new ParamBuilder(hostSource(new Map([['m.w', new Float32Array(5)]])));
    expect(() => flat.scope('m').get('w', [2, 3])).toThrow('m.w: 5 values, expected [2, 3] (6)');
    const t = tensor(new Float32Array(6), [3, 2]);
    const gpu = new ParamBuilder(hostSource(new Map([['m.w', t]])));
    expect(() => gpu.scope('m').get('w', [2, 3])).toThrow('m.w: shape [3, 2], expected [2, 3]');
    t.dispose();
  });

  it('a failed build frees what it created and rethrows with the path', () => {
    const values = new Map<string, Float32Array>([['net.layers.0.norm.weight', new Float32Array(4)]]);
    const seen: Tensor[] = [];
    const source: ParamSource = {
      value(path, shape, kind) {
        if (kind === 'counter') return 0;
        const v = values.get(path) ?? (path.includes('layers.1') ? undefined : new Float32Array(shape.reduce((a, b) => a * b, 1)));
        return v;
      },
    };
    expect(() =>
      build(source, 'net.', (p) => {
        const m = new Net(p);
        seen.push(...m.namedTensors().values());
        return m;
      }),
    ).toThrow('net.layers.1.norm.weight: missing, expected [4]');
    expect(seen).toEqual([]); // never got a module back
  });

  it('orderedRandomSource gives each name the same values whatever order they are asked in', () => {
    const specs = [
      { name: 'a', shape: [3] },
      { name: 'n', shape: [], dtype: 'int64' as const },
      { name: 'b', shape: [2, 2] },
    ];
    const init = (s: { shape: readonly number[] }, rng: Parameters<typeof uniformValues>[2]) => uniformValues(s.shape.reduce((x, y) => x * y, 1), 1, rng);
    const inOrder = orderedRandomSource(specs, 7, init);
    const a1 = inOrder.value('a', [3], 'param');
    const b1 = inOrder.value('b', [2, 2], 'param');
    const reversed = orderedRandomSource(specs, 7, init);
    const b2 = reversed.value('b', [2, 2], 'param');
    const a2 = reversed.value('a', [3], 'param');
    expect(b2).toEqual(b1);
    expect(a2).toEqual(a1);
    expect(reversed.value('n', [], 'counter')).toBe(0);
    expect(reversed.value('zzz', [1], 'param')).toBeUndefined();
  });
});

describe('freeze / unfreeze', () => {
  it('glob (segment * and cross-segment **, prefixes match their subtree) and RegExp over dotted names', () => {
    expect(nameMatcher('layers')('layers.0.fc1.weight')).toBe(true);
    expect(nameMatcher('layers')('layers_x.weight')).toBe(false);
    expect(nameMatcher('layers.*.fc1.weight')('layers.12.fc1.weight')).toBe(true);
    expect(nameMatcher('layers.*.weight')('layers.1.fc1.weight')).toBe(false);
    expect(nameMatcher('**.bias')('layers.1.fc1.bias')).toBe(true);
    expect(nameMatcher(/norm/)('layers.1.norm.weight')).toBe(true);
    const m = net();
    try {
      const trainable = () => [...m.trainableParameters().keys()];
      m.freeze('layers.0');
      expect(trainable()).toEqual(PARAMS.slice(6));
      m.freeze(/\.bias$/);
      expect(trainable()).toEqual(['layers.1.norm.weight', 'layers.1.fc1.weight', 'layers.1.bn.weight', 'head.weight']);
      m.unfreeze('layers.*.fc1');
      expect(trainable()).toContain('layers.0.fc1.bias');
      m.freeze();
      expect(trainable()).toEqual([]);
      m.unfreeze();
      expect(trainable()).toEqual(PARAMS);
      // Buffers never train.
      expect([...m.namedBuffers().values()].every((b) => b instanceof Counter || !b.requiresGrad)).toBe(true);
    } finally {
      m.dispose();
    }
  });

  it('train() / eval() reach every module', () => {
    const m = net();
    try {
      m.train();
      expect(m.namedModules().every(([, x]) => x.training)).toBe(true);
      m.eval();
      expect(m.namedModules().some(([, x]) => x.training)).toBe(false);
    } finally {
      m.dispose();
    }
  });
});

describe('stateDict / loadStateDict', () => {
  it('round trip: floats F32, counters I64 scalars; values and counters restored in place', async () => {
    const a = net();
    const b = net({ value: (_p, shape, kind) => (kind === 'counter' ? 0 : new Float32Array(shape.reduce((x, y) => x * y, 1))) });
    try {
      const sd = await a.stateDict();
      expect(sd.find((e) => e.name === 'layers.0.bn.num_batches_tracked')).toEqual({ name: 'layers.0.bn.num_batches_tracked', dtype: 'I64', shape: [], data: BigInt64Array.of(5n) });
      expect(sd.find((e) => e.name === 'head.weight')?.dtype).toBe('F32');
      const weightBefore = b.head.weight;
      expect(b.loadStateDict(sd)).toEqual({ missing: [], unexpected: [], wrongShape: [] });
      expect(b.head.weight).toBe(weightBefore);
      expect(await b.stateDict()).toEqual(sd);
      expect(b.layers.at(1).bn.numBatchesTracked.value).toBe(5);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('strict load names missing, unexpected and wrong-shape entries and writes nothing; lenient load reports them', async () => {
    const a = net();
    const b = net();
    try {
      const sd = (await a.stateDict()).filter((e) => e.name !== 'layers.1.fc1.bias' && e.name !== 'layers.0.bn.num_batches_tracked');
      const bad = sd.map((e) => (e.name === 'head.weight' ? { ...e, shape: [3, 2] } : e));
      bad.push({ name: 'layers.9.extra', dtype: 'F32', shape: [1], data: new Float32Array(1) });
      const before = await b.stateDict();
      expect(() => b.loadStateDict(bad)).toThrow('loadStateDict: missing: layers.1.fc1.bias; unexpected: layers.9.extra; wrong shape: head.weight: [3, 2] vs [2, 3]');
      expect(await b.stateDict()).toEqual(before);
      const r = b.loadStateDict(bad, { strict: false });
      expect(r).toEqual({ missing: ['layers.1.fc1.bias', 'layers.0.bn.num_batches_tracked'], unexpected: ['layers.9.extra'], wrongShape: ['head.weight: [3, 2] vs [2, 3]'] });
      // An absent num_batches_tracked alone is tolerated by a strict load (older checkpoints lack it).
      expect(() => b.loadStateDict((sd as typeof bad).concat([{ name: 'layers.1.fc1.bias', dtype: 'F32', shape: [3], data: new Float32Array(3) }]))).not.toThrow();
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
