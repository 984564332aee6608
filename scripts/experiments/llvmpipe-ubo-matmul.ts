// Experiment (issue 15): does reading the matmul A operand through a uniform binding beat a storage binding
// on llvmpipe? Mesa 22.x lowers every storage-buffer load to a per-lane scalar loop with a branch per lane
// (gallivm lp_bld_nir_soa.c emit_load_mem), while a uniform-buffer load whose offset is the same in every
// lane is one scalar load and a broadcast. This runs the same lane-shaped kernel (rows of C shared by the
// workgroup, A row block loaded at uniform offsets, B as vec4 along n) with A bound as storage or as a
// 64 KiB uniform window, 1024³, side by side, wall and CPU time. Raw WebGPU on the engine's device: the
// engine's pool buffers have no UNIFORM usage, so this is outside it.
//   SPOOFSCAN_ADAPTER=gles npx tsx scripts/experiments/llvmpipe-ubo-matmul.ts [N] [rounds]
import { initEngine } from '../../engine/node.ts';
import '../../kernels/index.ts';
import { median as med, report, roundRobin } from './round-robin.ts';

const N = Number(process.argv[2] ?? 1024);
const ROUNDS = Number(process.argv[3] ?? 5);
const TM = 16; // rows per workgroup = one 64 KiB window of A when K = 1024
const TNV = 4; // vec4 columns per invocation
const WX = 8;

function source(aUniform: boolean): string {
  const kv = N / 4;
  const aDecl = aUniform
    ? `@group(0) @binding(0) var<uniform> A: array<vec4<f32>, ${(TM * N) / 4}>;`
    : `@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;`;
  const rows = [...Array(TM).keys()];
  const cols = [...Array(TNV).keys()];
  // With a uniform window the row block is the binding; with storage it is addressed from the row offset.
  const aBase = aUniform ? '0u' : `wid.y * ${TM * kv}u`;
  const lines: string[] = [];
  for (const i of rows) for (const j of cols) lines.push(`  var c${i}_${j} = vec4<f32>(0.0);`);
  const body: string[] = [];
  for (const i of rows) body.push(`    let a${i} = A[abase + ${i * kv}u + k4];`);
  for (let q = 0; q < 4; q++) {
    for (const j of cols) body.push(`    let b${q}_${j} = B[(4u * k4 + ${q}u) * ${N / 4}u + nv0 + ${j * WX}u];`);
    for (const i of rows) for (const j of cols) body.push(`    c${i}_${j} = c${i}_${j} + a${i}[${q}] * b${q}_${j};`);
  }
  const store: string[] = [];
  for (const i of rows) for (const j of cols) store.push(`  C[(m0 + ${i}u) * ${N / 4}u + nv0 + ${j * WX}u] = c${i}_${j};`);
  return `${aDecl}
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;
struct U { row0: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(${WX}, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m0 = u.row0 + wid.y * ${TM}u;
  let nv0 = wid.x * ${TNV * WX}u + lid.x;
  let abase = ${aBase};
${lines.join('\n')}
  for (var k4 = 0u; k4 < ${kv}u; k4 = k4 + 1u) {
${body.join('\n')}
  }
${store.join('\n')}
}`;
}

async function main(): Promise<void> {
  const engine = await initEngine(undefined, { quiet: true });
  const device = engine.device;
  console.log(`adapter: ${engine.describe()}; N = ${N}, tile ${TM}x${4 * TNV}w${WX}`);
  const a = new Float32Array(N * N).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
  const b = new Float32Array(N * N).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
  const U = GPUBufferUsage;
  const mk = (data: Float32Array<ArrayBuffer> | null, usage: number, size = N * N * 4) => {
    const buf = device.createBuffer({ size, usage });
    if (data) device.queue.writeBuffer(buf, 0, data);
    return buf;
  };
  const A = mk(a, U.STORAGE | U.UNIFORM | U.COPY_DST);
  const B = mk(b, U.STORAGE | U.COPY_DST);
  const C = mk(null, U.STORAGE | U.COPY_SRC);
  const blocks = N / TM;
  const window = TM * N * 4;
  if (window > 65536) throw new Error(`a ${TM}-row window of A is ${window} bytes, over the 64 KiB uniform binding limit`);
  const variants = [false, true].map((aUniform) => {
    const t0 = performance.now();
    const module = device.createShaderModule({ code: source(aUniform) });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const groups: GPUBindGroup[] = [];
    const uniforms: GPUBuffer[] = [];
    // Storage A: one dispatch over all row blocks. Uniform A: one dispatch per 64 KiB window (row block).
    const dispatches = aUniform ? blocks : 1;
    for (let d = 0; d < dispatches; d++) {
      const ub = device.createBuffer({ size: 16, usage: U.UNIFORM | U.COPY_DST });
      device.queue.writeBuffer(ub, 0, new Uint32Array([aUniform ? d * TM : 0, 0, 0, 0]));
      uniforms.push(ub);
      groups.push(
        device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: aUniform ? { buffer: A, offset: d * window, size: window } : { buffer: A } },
            { binding: 1, resource: { buffer: B } },
            { binding: 2, resource: { buffer: C } },
            { binding: 3, resource: { buffer: ub } },
          ],
        }),
      );
    }
    const run = () => {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      for (let d = 0; d < dispatches; d++) {
        pass.setBindGroup(0, groups[d]);
        pass.dispatchWorkgroups(N / (4 * TNV * WX), aUniform ? 1 : blocks, 1);
      }
      pass.end();
      device.queue.submit([enc.finish()]);
    };
    return { name: aUniform ? 'A uniform (64 KiB windows)' : 'A storage', run, createMs: performance.now() - t0, wall: [] as number[], cpu: [] as number[], first: 0 };
  });
  const read = async (): Promise<Float32Array> => {
    const rb = device.createBuffer({ size: N * N * 4, usage: U.MAP_READ | U.COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(C, 0, rb, 0, N * N * 4);
    device.queue.submit([enc.finish()]);
    await rb.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(rb.getMappedRange().slice(0));
    rb.destroy();
    return out;
  };
  const outs: Float32Array[] = [];
  for (const v of variants) {
    const t0 = performance.now();
    v.run();
    await device.queue.onSubmittedWorkDone();
    v.first = performance.now() - t0;
    outs.push(await read());
  }
  let diff = 0;
  for (let i = 0; i < outs[0].length; i++) diff = Math.max(diff, Math.abs(outs[0][i] - outs[1][i]));
  // Spot-check one row of the storage variant against a float64 product.
  let refErr = 0;
  for (let j = 0; j < N; j += 37) {
    let acc = 0;
    for (let k = 0; k < N; k++) acc += a[5 * N + k] * b[k * N + j];
    refErr = Math.max(refErr, Math.abs(acc - outs[0][5 * N + j]));
  }
  await roundRobin(device, variants, ROUNDS);
  report(variants, (2 * N * N * N) / 1e9, 28);
  console.log(`max |storage − uniform| = ${diff.toExponential(2)}, max |storage − float64| on a row = ${refErr.toExponential(2)}`);
  const [s, u] = variants;
  console.log(`uniform/storage speed: wall ${(med(s.wall) / med(u.wall)).toFixed(2)}×, CPU ${(med(s.cpu) / med(u.cpu)).toFixed(2)}×`);
  process.exit(0);
}

void main();
