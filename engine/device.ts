// Device bootstrap shared by Node and the browser. Node reaches this through engine/device.node.ts,
// which supplies a GPU object from dawn.node; the browser passes navigator.gpu.

export type AdapterKind = 'gpu' | 'swiftshader' | 'gles' | 'browser';

export interface AdapterSummary {
  kind: AdapterKind;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  isFallback: boolean;
  /** CPU emulators (SwiftShader, llvmpipe) punish workgroup barriers: kernels choose register-blocked variants there. */
  isCpu: boolean;
  features: string[];
  limits: Record<string, number>;
}

// The limits worth raising to the adapter maximum (the defaults are far lower than most adapters offer).
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxTextureDimension2D',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxBindGroups',
  'maxBindingsPerBindGroup',
] as const;

const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups'];

export interface OpenedDevice {
  device: GPUDevice;
  adapter: AdapterSummary;
}

export async function requestAdapterDevice(
  gpu: GPU,
  kind: AdapterKind,
  options: GPURequestAdapterOptions = {},
): Promise<OpenedDevice | null> {
  const adapter = await gpu.requestAdapter(options);
  if (!adapter) return null;
  const requiredLimits: Record<string, number> = {};
  const adapterLimits = adapter.limits as unknown as Record<string, number>;
  for (const name of RAISED_LIMITS) {
    const v = adapterLimits[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const descr = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const isCpu = adapter.info.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|softpipe|warp/.test(descr);
  const deviceLimits: Record<string, number> = {};
  for (const name of Object.keys(Object.getPrototypeOf(device.limits) ?? {}).concat(Object.keys(device.limits))) {
    const v = (device.limits as unknown as Record<string, unknown>)[name];
    if (typeof v === 'number') deviceLimits[name] = v;
  }
  for (const name of RAISED_LIMITS) deviceLimits[name] = (device.limits as unknown as Record<string, number>)[name];
  return {
    device,
    adapter: {
      kind: kind === 'gpu' && isCpu ? 'swiftshader' : kind,
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      backend: backendName(kind, descr),
      isFallback: Boolean(info.isFallbackAdapter),
      isCpu,
      features: [...device.features].map(String).sort(),
      limits: deviceLimits,
    },
  };
}

function backendName(kind: AdapterKind, descr: string): string {
  if (kind === 'gles' || /opengl/.test(descr)) return 'opengles';
  if (kind === 'browser') return 'browser';
  if (/metal|apple/.test(descr)) return 'metal';
  if (/d3d|direct3d/.test(descr)) return 'd3d12';
  return 'vulkan';
}

export function describeAdapter(a: AdapterSummary): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' / ');
  return `${name || 'unknown adapter'} (${a.backend}${a.isCpu ? ', CPU emulation' : ''}) ${a.description}`.trim();
}

/** Browser entry: navigator.gpu must exist (a secure context such as http://localhost). */
export async function openBrowserDevice(): Promise<OpenedDevice> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new Error('WebGPU is not available: navigator.gpu is undefined (serve the page from https or http://localhost, and use a browser with WebGPU enabled)');
  const opened = await requestAdapterDevice(gpu, 'browser');
  if (!opened) throw new Error('WebGPU: navigator.gpu.requestAdapter() returned no adapter');
  return opened;
}
