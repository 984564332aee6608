// Scopes free intermediates: every tensor created inside tidy(fn) is disposed when fn returns,
// except the tensors it returns (found in arrays and plain objects). Tensors saved by autograd
// hold their own storage references, so disposing them here is always safe.
import { Tensor } from './tensor.ts';

interface Scope {
  created: Set<Tensor>;
  /** Tensors keep()'d inside the scope: they survive it, and so does the graph behind them. */
  pinned: Set<Tensor>;
}

const stack: Scope[] = [];

export function trackInScope(t: Tensor): void {
  stack[stack.length - 1]?.created.add(t);
}

/** Removes a tensor from every open scope so that it outlives them (parameters, gradients, caches). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of stack) {
    s.created.delete(t);
    s.pinned.add(t);
  }
  return t;
}

export function collectTensors(value: unknown, out: Set<Tensor>, isTensor: (x: unknown) => x is Tensor, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (isTensor(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, out, isTensor, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out, isTensor, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, out, isTensor, depth + 1);
}

type ScopeExitHook = (created: Set<Tensor>, kept: Set<Tensor>) => void;
let exitHook: ScopeExitHook | null = null;

/** Lets autograd release graph nodes that became unreachable when the scope ended. */
export function onScopeExit(hook: ScopeExitHook): void {
  exitHook = hook;
}

export function tidy<T>(fn: () => T, isTensor: (x: unknown) => x is Tensor = (x): x is Tensor => x instanceof Tensor): T {
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
  const kept = new Set<Tensor>();
  collectTensors(result, kept, isTensor);
  exitHook?.(scope.created, new Set([...kept, ...scope.pinned]));
  const parent = stack[stack.length - 1];
  for (const t of scope.created) {
    if (kept.has(t)) parent?.created.add(t);
    else t.dispose();
  }
  return result;
}
