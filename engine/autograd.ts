// Reverse-mode autograd on a tape. Each recorded op keeps a node with its inputs (for routing),
// the tensors its backward needs (held by their own storage references) and a backward function.
// backward() walks the nodes reachable from the loss in reverse creation order, which is a valid
// reverse topological order because a node is always created after the nodes of its inputs.
import { ones, type BackwardFn, type GradNode, type Tensor } from './tensor.ts';
import { keep, onScopeExit } from './scope.ts';
import { formatShape, shapesEqual } from './shape.ts';

export type { BackwardFn, GradNode } from './tensor.ts';

let nextNodeId = 1;
let gradEnabled = true;
let accumulate: ((a: Tensor, b: Tensor) => Tensor) | null = null;

/** The kernels register their `add` here (the engine does not import kernels). */
export function setGradAccumulator(add: (a: Tensor, b: Tensor) => Tensor): void {
  accumulate = add;
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording anything on the tape (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn with recording on, even inside a backward function (activation checkpointing re-records
 *  a block there to get its gradients). */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Marks a leaf tensor as trainable. */
export function requiresGrad<T extends Tensor>(t: T, on = true): T {
  if (on && t.dtype !== 'f32' && t.dtype !== 'f16') throw new Error(`requiresGrad: tensor ${t.describe()} is not floating point`);
  t.requiresGrad = on;
  return t;
}

/**
 * Records `output = op(inputs)` if any input needs a gradient. `saved` tensors are retained
 * (their buffers live until the graph is released) and handed back to `backward`.
 */
export function record(op: string, inputs: readonly Tensor[], output: Tensor, backward: BackwardFn, saved: readonly Tensor[] = []): Tensor {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return output;
  const node: GradNode = {
    id: nextNodeId++,
    op,
    inputs,
    outputId: output.id,
    saved: saved.map((t) => t.view(t.shape, false)),
    backward,
  };
  output.requiresGrad = true;
  output.gradFn = node;
  return output;
}

function releaseNode(node: GradNode): void {
  for (const t of node.saved) t.dispose();
  node.saved = [];
  node.backward = null;
}

function reachableNodes(roots: Iterable<Tensor>): Map<number, GradNode> {
  const seen = new Map<number, GradNode>();
  const stack: GradNode[] = [];
  for (const r of roots) if (r.gradFn) stack.push(r.gradFn);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n.id)) continue;
    seen.set(n.id, n);
    for (const t of n.inputs) if (t.gradFn && !seen.has(t.gradFn.id)) stack.push(t.gradFn);
  }
  return seen;
}

/** Frees the buffers held by the graph that produced `t` (after which backward through it fails). */
export function releaseGraph(t: Tensor): void {
  for (const n of reachableNodes([t]).values()) releaseNode(n);
}

export interface BackwardOptions {
  /** Keep the graph so backward() can run through it again. */
  retainGraph?: boolean;
}

/** Accumulates d(loss)/d(leaf) into `leaf.grad` for every leaf with requiresGrad. */
export function backward(loss: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  loss.storageFor('backward');
  if (!loss.requiresGrad) {
    throw new Error(
      `backward(): tensor ${loss.describe()} has no autograd tape: it was not computed from tensors with requiresGrad, or it was computed under noGrad()`,
    );
  }
  if (!grad && loss.size !== 1) {
    throw new Error(`backward(): tensor ${loss.describe()} is not a scalar; pass its gradient explicitly: backward(t, grad)`);
  }
  if (grad && !shapesEqual(grad.shape, loss.shape)) {
    throw new Error(`backward(): gradient shape ${formatShape(grad.shape)} does not match tensor shape ${formatShape(loss.shape)}`);
  }
  if (!accumulate) throw new Error('backward(): kernels are not loaded (import spoofscan/kernels)');
  const add = accumulate;
  const prev = gradEnabled;
  gradEnabled = false;
  const nodes = reachableNodes([loss]);
  try {
    // The seed lives on the loss's engine, so the whole backward runs where the graph ran.
    const seed = grad ?? ones(loss.shape, 'f32', loss.storageFor('backward').engine);
    const pending = new Map<number, Tensor>();
    const give = (t: Tensor, g: Tensor, owned: boolean) => {
      if (!t.requiresGrad) {
        if (owned) g.dispose();
        return;
      }
      if (!shapesEqual(g.shape, t.shape)) {
        throw new Error(`backward(): internal gradient shape ${formatShape(g.shape)} for tensor ${t.describe()}`);
      }
      const mine = owned ? g : g.view(g.shape);
      if (t.gradFn) {
        const old = pending.get(t.id);
        if (old) {
          pending.set(t.id, add(old, mine));
          old.dispose();
          mine.dispose();
        } else pending.set(t.id, mine);
      } else {
        const old = t.grad;
        if (old) {
          t.grad = keep(add(old, mine));
          old.dispose();
          mine.dispose();
        } else t.grad = keep(mine);
      }
    };
    give(loss, seed, !grad);
    const order = [...nodes.values()].sort((a, b) => b.id - a.id);
    for (const node of order) {
      const g = pending.get(node.outputId);
      if (!g) continue;
      pending.delete(node.outputId);
      if (!node.backward) {
        throw new Error(`backward(): the graph through '${node.op}' was already released; pass { retainGraph: true } to the first backward() to run it twice`);
      }
      const grads = node.backward(g, node.saved);
      g.dispose();
      node.inputs.forEach((inp, i) => {
        const gi = grads[i];
        if (gi) give(inp, gi, true);
      });
    }
    for (const g of pending.values()) g.dispose();
  } finally {
    gradEnabled = prev;
    if (!options.retainGraph) for (const n of nodes.values()) releaseNode(n);
  }
}

// When a tidy() scope ends, graph nodes made inside it that no surviving tensor can reach are freed.
// Scopes track tensors as `Scoped` values; everything they hold is a Tensor.
onScopeExit((createdScoped, rootsScoped) => {
  const created = createdScoped as Set<Tensor>;
  const roots = rootsScoped as Set<Tensor>;
  const live = reachableNodes(roots);
  for (const t of created) {
    if (t.gradFn && !roots.has(t) && !live.has(t.gradFn.id)) releaseNode(t.gradFn);
  }
});
