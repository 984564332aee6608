// `spoofscan doctor`: which WebGPU adapter spoofscan uses, its backend, limits and features,
// and a tiny end-to-end check that kernels compile and compute correctly on it.
import { parseArgs } from 'node:util';
import { adapterChoiceFromEnv, adapterSelection, describeSelfCheck, findSwiftShaderIcd, initEngine, selfCheck, type AdapterChoice } from '../../engine/node.ts';
// The engine does not import kernels: loading them registers the self-check initEngine runs and gradient accumulation.
import '../../kernels/index.ts';
import { UsageError } from '../../common/errors.ts';

const ADAPTERS = ['auto', 'default', 'swiftshader', 'gles'];

export const summary = 'show the WebGPU adapter, backend, limits and features, and run a quick self-check';

const USAGE = `usage: spoofscan doctor [--adapter auto|default|swiftshader|gles] [--json]

Opens the WebGPU device the way every spoofscan command does (a real GPU first, then Mesa llvmpipe
through OpenGL ES, then SwiftShader; each must pass a self-check of a few kernels against host
references, else the next is tried; SPOOFSCAN_ADAPTER or --adapter forces one) and prints what it got
and why. Exits 1 when the adapter fails the self-check.`;

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
  const sel = adapterSelection();
  // initEngine's self-check compiled the kernels; run it again when it was skipped or to time it warm.
  const check = sel?.selfCheck ?? (await selfCheck());
  const ok = check.ok;

  const a_ = engine.adapter;
  const report = {
    adapter: { vendor: a_.vendor, architecture: a_.architecture, device: a_.device, description: a_.description },
    backend: a_.backend,
    cpuEmulation: a_.isCpu,
    fallbackAdapter: a_.isFallback,
    requested: choice,
    chosen: sel?.kind ?? a_.kind,
    why: sel?.reason ?? '',
    tried: sel?.tried ?? [],
    swiftshaderIcd: findSwiftShaderIcd(),
    features: a_.features,
    limits: a_.limits,
    selfCheck: { ok, items: check.items, ms: Math.round(check.ms) },
    openMs: Math.round(openMs),
  };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`adapter     ${engine.describe()}`);
    console.log(`backend     ${report.backend}${report.cpuEmulation ? ' (CPU emulation: slow, fine for tests and tiny models)' : ''}`);
    console.log(`requested   ${choice}   (SPOOFSCAN_ADAPTER=auto|default|swiftshader|gles)`);
    console.log(`chosen      ${report.chosen}: ${report.why}`);
    for (const t of report.tried) console.log(`  skipped   ${t}`);
    console.log(`swiftshader ${report.swiftshaderIcd ?? 'not found'}`);
    console.log(`features    ${report.features.join(', ') || '(none)'}`);
    console.log('limits');
    for (const [k, v] of Object.entries(report.limits).sort()) console.log(`  ${k.padEnd(42)} ${v}`);
    console.log(`self-check  ${describeSelfCheck(check)}`);
    for (const i of check.items) console.log(`  ${i.ok ? 'ok    ' : 'FAILED'}  ${i.name} ${i.detail}`);
  }
  engine.destroy();
  return ok ? 0 : 1;
}
