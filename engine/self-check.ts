// The start-up self-check as the engine sees it: its result type, how it is described, and the hook through
// which the kernels provide it. The check itself runs kernels (kernels/selfcheck.ts), so the engine cannot
// import it: kernels/selfcheck.ts registers it here when it loads (kernels/index.ts imports it), and
// initEngine (engine/node.ts) runs whatever is registered.
import type { Engine } from './runtime.ts';

export interface SelfCheckItem {
  name: string;
  ok: boolean;
  /** What was compared, and the error found. */
  detail: string;
}

export interface SelfCheckResult {
  ok: boolean;
  items: SelfCheckItem[];
  ms: number;
}

/** Runs on `engine`, default the current one. */
export type SelfCheck = (engine?: Engine) => Promise<SelfCheckResult>;

let registered: SelfCheck | null = null;

/** Called by kernels/selfcheck.ts when it loads. */
export function registerSelfCheck(check: SelfCheck): void {
  registered = check;
}

/** The registered self-check; throws a clear error when the kernels were not loaded. */
export function registeredSelfCheck(): SelfCheck {
  if (!registered) {
    throw new Error(
      'the kernel self-check is not loaded: import kernels/index.ts (the op surface) before opening the engine, or pass { selfCheck: false }',
    );
  }
  return registered;
}

/** Runs the registered self-check on `engine` (default: the current one; see registeredSelfCheck). */
export function selfCheck(engine?: Engine): Promise<SelfCheckResult> {
  return registeredSelfCheck()(engine);
}

export function describeSelfCheck(r: SelfCheckResult): string {
  const failed = r.items.filter((i) => !i.ok);
  if (failed.length === 0) return `ok (${r.items.map((i) => i.name).join(', ')}; ${Math.round(r.ms)} ms incl. shader compile)`;
  return `FAILED: ${failed.map((i) => `${i.name} ${i.detail}`).join('; ')}`;
}
