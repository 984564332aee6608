// Node entry: opens Dawn and makes it the current engine. `auto` tries a real GPU, then llvmpipe
// (OpenGL ES), then SwiftShader, and runs a self-check on each (kernels/selfcheck.ts, which registers itself
// through engine/self-check.ts when the kernels are loaded): an adapter that computes a kernel wrongly is
// dropped, with a warning, for the next one.
import { adapterChoiceFromEnv, adapterOrder, adapterReason, mayHaveVulkanDriver, noAdapterError, openNodeAdapter, type AdapterChoice } from './device.node.ts';
import type { AdapterKind, OpenedDevice } from './device.ts';
import { Engine, setEngine, useDevice, type EngineOptions } from './index.ts';
import { kernelOptionsFromEnv } from './kernel-options.ts';
import { describeSelfCheck, registeredSelfCheck, type SelfCheckResult } from './self-check.ts';

export * from './index.ts';
export { openNodeDevice, openNodeAdapter, mayHaveVulkanDriver, findSwiftShaderIcd, adapterChoiceFromEnv, adapterOrder, adapterReason, type AdapterChoice } from './device.node.ts';
export { selfCheck, describeSelfCheck, type SelfCheckItem, type SelfCheckResult } from './self-check.ts';

/** How the current engine's adapter was chosen (`spoofscan doctor` prints it). */
export interface AdapterSelection {
  choice: AdapterChoice;
  kind: AdapterKind;
  /** Why this adapter. */
  reason: string;
  /** Every adapter tried before it and what happened ("gpu: none", "gles: self-check FAILED: ..."). */
  tried: string[];
  selfCheck: SelfCheckResult | null;
}

export interface InitOptions {
  /** Do not print the adapter line (warnings about dropped adapters are still printed). */
  quiet?: boolean;
  /**
   * Run the self-check (default true). In `auto` a failing adapter is skipped; a forced one is kept with a
   * warning. A function replaces the check (tests).
   */
  selfCheck?: boolean | (() => Promise<SelfCheckResult>);
}

let announced = false;
let selection: AdapterSelection | null = null;

export function adapterSelection(): AdapterSelection | null {
  return selection;
}

export async function initEngine(choice: AdapterChoice = adapterChoiceFromEnv(), opts: InitOptions = {}): Promise<Engine> {
  const engineOpts = engineOptionsFromEnv(); // before any device opens: an unknown SPOOFSCAN_* value throws here
  const check = opts.selfCheck === false ? null : typeof opts.selfCheck === 'function' ? opts.selfCheck : registeredSelfCheck();
  const order = adapterOrder(choice);
  const tried: string[] = [];
  let deferred: OpenedDevice | null = null; // a CPU adapter Dawn offered as the default: after llvmpipe
  const candidates: (AdapterKind | 'deferred')[] = [...order, 'deferred'];
  let engine: Engine | null = null;
  let result: SelfCheckResult | null = null;
  let kind: AdapterKind = order[0];
  for (const cand of candidates) {
    let opened: OpenedDevice | null;
    if (cand === 'deferred') {
      opened = deferred;
      if (!opened) break;
    } else {
      opened = await openNodeAdapter(cand);
      if (!opened) {
        tried.push(`${cand}: ${cand === 'gpu' && !mayHaveVulkanDriver() ? 'no Vulkan driver installed' : 'not available'}`);
        continue;
      }
      if (choice === 'auto' && cand === 'gpu' && opened.adapter.isCpu) {
        deferred = opened;
        tried.push(`gpu: only a CPU adapter (${opened.adapter.device || opened.adapter.description}), tried after llvmpipe`);
        continue;
      }
    }
    kind = opened.adapter.kind;
    engine = useDevice(opened, engineOpts);
    result = check ? await check() : null;
    if (!result || result.ok || choice !== 'auto') break;
    const line = `${kind}: self-check ${describeSelfCheck(result)}`;
    tried.push(line);
    process.stderr.write(`spoofscan: WebGPU adapter ${engine.describe()} failed its self-check (${describeSelfCheck(result)}); trying the next one\n`);
    engine.destroy();
    setEngine(null);
    engine = null;
    if (cand === 'deferred') break;
  }
  if (!engine) throw noAdapterError(order, tried);
  if (deferred && engine.device !== deferred.device) deferred.device.destroy();
  if (result && !result.ok) {
    process.stderr.write(`spoofscan: WARNING: WebGPU adapter ${engine.describe()} failed its self-check (${describeSelfCheck(result)}); results may be wrong\n`);
  }
  selection = {
    choice,
    kind,
    reason: choice === 'auto' ? adapterReason(kind) : `forced by SPOOFSCAN_ADAPTER=${choice}`,
    tried,
    selfCheck: result,
  };
  if (!announced && !opts.quiet && process.env.SPOOFSCAN_QUIET !== '1') {
    announced = true;
    process.stderr.write(`spoofscan: WebGPU adapter ${engine.describe()}\n`);
  }
  return engine;
}

/** SPOOFSCAN_DEBUG and the kernel choices (SPOOFSCAN_MATMUL, _CONV, _ATTENTION) as engine options. */
export function engineOptionsFromEnv(): EngineOptions {
  return { kernelOptions: kernelOptionsFromEnv(process.env), debug: process.env.SPOOFSCAN_DEBUG === '1' };
}

/**
 * Opens one more engine on an adapter of `kind`, next to the current one, without making it current and
 * without a self-check: its tensors are created with `tensor(…, engine)` and every op on them runs there.
 * Options default to the environment's (engineOptionsFromEnv). Destroy it with engine.destroy().
 */
export async function openEngine(kind: AdapterKind, opts: EngineOptions = engineOptionsFromEnv()): Promise<Engine> {
  const opened: OpenedDevice | null = await openNodeAdapter(kind);
  if (!opened) throw noAdapterError([kind]);
  return new Engine(opened, opts);
}
