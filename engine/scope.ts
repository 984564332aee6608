// Scopes free intermediates: every tensor created inside tidy(fn) is disposed when fn returns,
// except the tensors it returns (found in arrays and plain objects). Tensors saved by autograd
// hold their own storage references, so disposing them here is always safe.
// This module knows tensors only as `Scoped` values (it sits below tensor.ts, which registers every new
// tensor here); a value counts as a tensor when it carries the SCOPED brand that the Tensor class sets.

/** What a scope tracks: anything disposable. The engine's Tensor is the only implementation. */
export interface Scoped {
  dispose(): void;
}

/** Brand set on Tensor.prototype, so tidy() can find tensors in a result without importing tensor.ts. */
export const SCOPED: unique symbol = Symbol('spoofscan.scoped');

/** True for values that carry the SCOPED brand (engine tensors). */
export function isScoped(x: unknown): x is Scoped {
  return typeof x === 'object' && x !== null && (x as { [SCOPED]?: unknown })[SCOPED] === true;
}

interface Scope {
  created: Set<Scoped>;
  /** Tensors keep()'d inside the scope: they survive it, and so does the graph behind them. */
  pinned: Set<Scoped>;
}

const stack: Scope[] = [];

export function trackInScope(t: Scoped): void {
  stack[stack.length - 1]?.created.add(t);
}

/** Removes a tensor from every open scope so that it outlives them (parameters, gradients, caches). */
export function keep<T extends Scoped>(t: T): T {
  for (const s of stack) {
    s.created.delete(t);
    s.pinned.add(t);
  }
  return t;
}

export function collectTensors<T extends Scoped>(value: unknown, out: Set<T>, isTensor: (x: unknown) => x is T, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (isTensor(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, out, isTensor, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out, isTensor, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, out, isTensor, depth + 1);
}

type ScopeExitHook = (created: Set<Scoped>, kept: Set<Scoped>) => void;
let exitHook: ScopeExitHook | null = null;

/** Lets autograd release graph nodes that became unreachable when the scope ended. */
export function onScopeExit(hook: ScopeExitHook): void {
  exitHook = hook;
}

export function tidy<T>(fn: () => T, isTensor: (x: unknown) => x is Scoped = isScoped): T {
  const scope: Scope = { created: new Set(), pinned: new Set() };
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope.created) t.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) {
    throw new Error('tidy() takes a synchronous function; await outside of it and keep() what must survive');
  }
  const kept = new Set<Scoped>();
  collectTensors(result, kept, isTensor);
  exitHook?.(scope.created, new Set([...kept, ...scope.pinned]));
  const parent = stack[stack.length - 1];
  for (const t of scope.created) {
    if (kept.has(t)) parent?.created.add(t);
    else t.dispose();
  }
  return result;
}
