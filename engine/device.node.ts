// The Node-only device opener of the engine: a GPUDevice through dawn.node (npm `webgpu`).
// Order when SPOOFSCAN_ADAPTER is unset (`auto`): a real GPU, then Dawn's OpenGL ES backend on Mesa
// llvmpipe in compatibility mode (3–6× faster than SwiftShader on the same cores), then SwiftShader
// (Vulkan on the CPU). engine/node.ts adds a self-check and moves on when an adapter computes wrongly.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import { requestAdapterDevice, type AdapterKind, type OpenedDevice } from './device.ts';

const SWIFTSHADER_ICD_PLACES = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
  '/snap/chromium/current/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

// dawn.node crashes at garbage collection if the object from create() is collected: keep them all.
const keepAlive: unknown[] = [];

export function findSwiftShaderIcd(): string | null {
  const custom = process.env.SPOOFSCAN_SWIFTSHADER_ICD;
  if (custom) return existsSync(custom) ? custom : null;
  return SWIFTSHADER_ICD_PLACES.find((p) => existsSync(p)) ?? null;
}

/**
 * dawn.node re-arms its event processing with the global setImmediate while any GPU promise is
 * pending, which keeps one of two cores busy and halves CPU-adapter throughput. Its callbacks are
 * native functions: poll those quickly for ~1 ms, then every 1 ms with a timer. JS callers are untouched.
 */
function installPollingFix(): void {
  const g = globalThis as unknown as { setImmediate: typeof setImmediate; __spoofscanPoll?: boolean };
  if (g.__spoofscanPoll || process.env.SPOOFSCAN_DAWN_POLLING === 'native') return;
  g.__spoofscanPoll = true;
  const original = g.setImmediate;
  const natives = new WeakMap<Function, boolean>();
  const isNative = (f: Function): boolean => {
    let v = natives.get(f);
    if (v === undefined) {
      v = /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(f));
      natives.set(f, v);
    }
    return v;
  };
  let chainStart = 0;
  let lastRequest = 0;
  const patched = function (cb: (...a: unknown[]) => void, ...args: unknown[]) {
    if (typeof cb !== 'function' || !isNative(cb)) return original(cb, ...args);
    const now = performance.now();
    if (now - lastRequest > 3) chainStart = now; // a new wait began
    lastRequest = now;
    if (now - chainStart < 1) return original(cb, ...args);
    return setTimeout(cb, 1, ...args) as unknown as NodeJS.Immediate;
  };
  g.setImmediate = Object.assign(patched, original) as typeof setImmediate;
}

/**
 * On Linux Dawn reaches a real GPU only through Vulkan: without an installed Vulkan driver (an ICD
 * manifest in the loader's search path) the probe can only fail, and Dawn prints a warning with a
 * native stack trace on stderr when it does. Elsewhere (Metal, D3D12) always probe.
 */
export function mayHaveVulkanDriver(): boolean {
  if (process.platform !== 'linux') return true;
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || process.env.VK_ADD_DRIVER_FILES) return true;
  const dataDirs = (process.env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter(Boolean);
  const dirs = ['/etc/vulkan/icd.d', join(process.env.XDG_DATA_HOME || join(homedir(), '.local/share'), 'vulkan/icd.d'), ...dataDirs.map((d) => join(d, 'vulkan/icd.d'))];
  return dirs.some((d) => {
    try {
      return readdirSync(d).some((f) => f.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

/** Opens one kind of adapter, or null when this machine has none of that kind. */
export async function openNodeAdapter(kind: AdapterKind): Promise<OpenedDevice | null> {
  Object.assign(globalThis, globals);
  installPollingFix();
  process.env.XDG_RUNTIME_DIR ??= ensureRuntimeDir();
  return tryOpen(kind);
}

async function tryOpen(kind: AdapterKind): Promise<OpenedDevice | null> {
  if (kind === 'gpu' && !mayHaveVulkanDriver()) return null;
  if (kind === 'swiftshader') {
    const icd = findSwiftShaderIcd();
    if (!icd) return null;
    process.env.VK_ICD_FILENAMES = icd;
  }
  if (kind === 'gles') process.env.EGL_PLATFORM ??= 'surfaceless';
  const flags = kind === 'gles' ? ['backend=opengles'] : [];
  const extra = process.env.SPOOFSCAN_DAWN_FLAGS;
  if (extra) flags.push(...extra.split(/\s+/).filter(Boolean));
  const gpu = create(flags);
  keepAlive.push(gpu);
  const options: GPURequestAdapterOptions =
    kind === 'gles' ? ({ featureLevel: 'compatibility' } as GPURequestAdapterOptions) : { powerPreference: 'high-performance' };
  try {
    return await requestAdapterDevice(gpu, kind, options);
  } catch {
    return null;
  }
}

export type AdapterChoice = 'auto' | 'default' | 'swiftshader' | 'gles';

export function adapterChoiceFromEnv(): AdapterChoice {
  const v = (process.env.SPOOFSCAN_ADAPTER ?? 'auto').toLowerCase();
  if (v === 'auto' || v === 'default' || v === 'swiftshader' || v === 'gles') return v;
  // userFacing: a setting the user got wrong, printed by the CLI without a stack (common/errors.ts).
  throw Object.assign(new Error(`SPOOFSCAN_ADAPTER='${v}' is not one of auto, default, swiftshader, gles`), { userFacing: true, exitCode: 2 });
}

/** Adapter kinds tried for a choice, in order. */
export function adapterOrder(choice: AdapterChoice): AdapterKind[] {
  return choice === 'auto' ? ['gpu', 'gles', 'swiftshader'] : choice === 'default' ? ['gpu'] : [choice];
}

/** Why `auto` takes an adapter of this kind (doctor prints it). */
export function adapterReason(kind: AdapterKind): string {
  switch (kind) {
    case 'gpu':
      return 'a real GPU: the fastest';
    case 'gles':
      return 'no real GPU; Mesa llvmpipe through OpenGL ES is 3–6× faster than SwiftShader on the same cores';
    case 'swiftshader':
      return 'no real GPU and no working llvmpipe; SwiftShader (Vulkan on the CPU) is the last resort';
    case 'browser':
      return 'the browser\'s navigator.gpu';
  }
}

/**
 * Opens the first adapter of the choice's order (no self-check: engine/node.ts `initEngine` adds it).
 * In `auto`, a CPU adapter that Dawn reports as the default ("gpu") is skipped: it comes later as SwiftShader.
 */
export async function openNodeDevice(choice: AdapterChoice = adapterChoiceFromEnv()): Promise<OpenedDevice> {
  const order = adapterOrder(choice);
  for (const kind of order) {
    const opened = await openNodeAdapter(kind);
    if (opened && choice === 'auto' && kind === 'gpu' && opened.adapter.isCpu) {
      opened.device.destroy();
      continue;
    }
    if (opened) return opened;
  }
  throw noAdapterError(order);
}

export function noAdapterError(order: readonly AdapterKind[], tried: readonly string[] = []): Error {
  const hint =
    'Install a GPU driver with Vulkan, or Debian/Ubuntu `chromium` (ships SwiftShader) and `libvulkan1`, ' +
    'or Mesa EGL/GLES (`libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri`) for the llvmpipe fallback.';
  return new Error(`No WebGPU adapter found (tried ${tried.length ? tried.join('; ') : order.join(', ')}). ${hint}`);
}

function ensureRuntimeDir(): string {
  const dir = join(tmpdir(), `spoofscan-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
