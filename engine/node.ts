// Node entry: opens Dawn (real GPU → SwiftShader → llvmpipe GLES) and makes it the current engine.
import { openNodeDevice, type AdapterChoice } from './device.node.ts';
import { useDevice, type Engine } from './index.ts';

export * from './index.ts';
export { openNodeDevice, findSwiftShaderIcd, adapterChoiceFromEnv, type AdapterChoice } from './device.node.ts';

let announced = false;

export async function initEngine(choice?: AdapterChoice, opts: { quiet?: boolean } = {}): Promise<Engine> {
  const engine = useDevice(await openNodeDevice(choice));
  engine.debug = process.env.SPOOFSCAN_DEBUG === '1';
  if (!announced && !opts.quiet && process.env.SPOOFSCAN_QUIET !== '1') {
    announced = true;
    process.stderr.write(`spoofscan: WebGPU adapter ${engine.describe()}\n`);
  }
  return engine;
}
