// `spoofscan doctor`: which WebGPU adapter spoofscan uses, its backend, limits and features,
// and a tiny end-to-end check that kernels compile and compute correctly on it.
import { parseArgs } from 'node:util';
import { adapterChoiceFromEnv, findSwiftShaderIcd, initEngine, tensor, type AdapterChoice } from '../../engine/node.ts';
import { matmul, sum } from '../../kernels/index.ts';
import { UsageError } from '../errors.ts';

const ADAPTERS = ['auto', 'default', 'swiftshader', 'gles'];

export const summary = 'show the WebGPU adapter, backend, limits and features, and run a quick self-check';

const USAGE = `usage: spoofscan doctor [--adapter auto|default|swiftshader|gles] [--json]

Opens the WebGPU device the way every spoofscan command does (a real GPU first, then SwiftShader,
then Mesa llvmpipe through OpenGL ES; SPOOFSCAN_ADAPTER or --adapter forces one) and prints what it got.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { adapter: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.adapter !== undefined) {
    if (!ADAPTERS.includes(values.adapter.toLowerCase())) throw new UsageError(`--adapter must be one of ${ADAPTERS.join(', ')}, not "${values.adapter}"`);
    process.env.SPOOFSCAN_ADAPTER = values.adapter;
  }
  const choice: AdapterChoice = adapterChoiceFromEnv();
  const t0 = performance.now();
  const engine = await initEngine(choice, { quiet: true });
  const openMs = performance.now() - t0;

  // Self-check: a matmul and a reduction whose results are known exactly.
  const t1 = performance.now();
  const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = tensor([1, 0, 0, 1, 1, 1], [3, 2]);
  const got = await sum(matmul(a, b)).item();
  const checkMs = performance.now() - t1;
  const ok = got === 4 + 5 + 10 + 11;

  const a_ = engine.adapter;
  const report = {
    adapter: { vendor: a_.vendor, architecture: a_.architecture, device: a_.device, description: a_.description },
    backend: a_.backend,
    cpuEmulation: a_.isCpu,
    fallbackAdapter: a_.isFallback,
    requested: choice,
    swiftshaderIcd: findSwiftShaderIcd(),
    features: a_.features,
    limits: a_.limits,
    selfCheck: { ok, result: got, expected: 30, ms: Math.round(checkMs) },
    openMs: Math.round(openMs),
  };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`adapter     ${engine.describe()}`);
    console.log(`backend     ${report.backend}${report.cpuEmulation ? ' (CPU emulation: slow, fine for tests and tiny models)' : ''}`);
    console.log(`requested   ${choice}   (SPOOFSCAN_ADAPTER=auto|default|swiftshader|gles)`);
    console.log(`swiftshader ${report.swiftshaderIcd ?? 'not found'}`);
    console.log(`features    ${report.features.join(', ') || '(none)'}`);
    console.log('limits');
    for (const [k, v] of Object.entries(report.limits).sort()) console.log(`  ${k.padEnd(42)} ${v}`);
    console.log(`self-check  ${ok ? 'ok' : 'FAILED'} (matmul + sum = ${got}, expected 30; ${report.selfCheck.ms} ms incl. shader compile)`);
  }
  engine.destroy();
  return ok ? 0 : 1;
}
