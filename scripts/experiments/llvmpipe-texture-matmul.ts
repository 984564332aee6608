// Experiment (issue 15): on llvmpipe every storage-buffer load is a per-lane scalar loop with a branch
// (gallivm emit_load_mem), but texel fetches go through the sampler code, which builds all lanes' addresses
// as one vector and gathers whole texels. This runs the same register-blocked kernel (TM×TN outputs per
// invocation) reading A and B from storage buffers, B from an rgba32float texture, both from textures, or
// both from k-major textures with dot products (what kernels/matmul-texture.ts became), side by side at N³,
// wall and CPU time. 1024³, 32×32, 2 cores: 24 / 33 / 37 / 46 GFLOP/s.
//   SPOOFSCAN_ADAPTER=gles npx tsx scripts/experiments/llvmpipe-texture-matmul.ts [N] [rounds] [TMxTN]
import { initEngine } from '../../engine/node.ts';
import '../../kernels/index.ts';
import { report, roundRobin } from './round-robin.ts';

const N = Number(process.argv[2] ?? 1024);
const ROUNDS = Number(process.argv[3] ?? 5);
const [TM, TN] = (process.argv[4] ?? '32x32').split('x').map(Number);
// Invocations per workgroup (WX=4, 16 were slower at 32×32).
const WX = Number(process.env.WX ?? 8);
type Src = 'storage' | 'texture' | 'textureT';

/** Both operands k-major textures (texel (k4, row) holds 4 consecutive k), scalar accumulators, dot products. */
function sourceNT(): string {
  const rows = [...Array(TM).keys()];
  const cols = [...Array(TN).keys()];
  const init: string[] = [];
  for (const i of rows) for (const j of cols) init.push(`  var c${i}_${j} = 0.0;`);
  const body: string[] = [];
  for (const i of rows) body.push(`    let a${i} = textureLoad(tA, vec2<i32>(i32(k4), i32(m0 + ${i}u)), 0);`);
  for (const j of cols) body.push(`    let b${j} = textureLoad(tB, vec2<i32>(i32(k4), i32(n0 + ${j}u)), 0);`);
  for (const i of rows) for (const j of cols) body.push(`    c${i}_${j} = c${i}_${j} + dot(a${i}, b${j});`);
  const store: string[] = [];
  for (const i of rows) for (let v = 0; v < TN / 4; v++) store.push(`  C[((m0 + ${i}u) * ${N}u + n0) / 4u + ${v}u] = vec4<f32>(c${i}_${4 * v}, c${i}_${4 * v + 1}, c${i}_${4 * v + 2}, c${i}_${4 * v + 3});`);
  return `@group(0) @binding(0) var tA: texture_2d<f32>;
@group(0) @binding(1) var tB: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;
@compute @workgroup_size(${WX}, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * ${TM}u;
  let n0 = gid.x * ${TN}u;
${init.join('\n')}
  for (var k4 = 0u; k4 < ${N / 4}u; k4 = k4 + 1u) {
${body.join('\n')}
  }
${store.join('\n')}
}`;
}

function source(aSrc: Src, bSrc: Src): string {
  const kv = N / 4;
  const nv = N / 4;
  const rows = [...Array(TM).keys()];
  const cv = [...Array(TN / 4).keys()];
  const decl = [
    aSrc === 'texture' ? '@group(0) @binding(0) var tA: texture_2d<f32>;' : '@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;',
    bSrc === 'texture' ? '@group(0) @binding(1) var tB: texture_2d<f32>;' : '@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;',
  ];
  const init: string[] = [];
  for (const i of rows) for (const v of cv) init.push(`  var c${i}_${v} = vec4<f32>(0.0);`);
  const body: string[] = [];
  for (const i of rows) {
    body.push(aSrc === 'texture' ? `    let a${i} = textureLoad(tA, vec2<i32>(i32(k4), i32(m0 + ${i}u)), 0);` : `    let a${i} = A[(m0 + ${i}u) * ${kv}u + k4];`);
  }
  for (let q = 0; q < 4; q++) {
    for (const v of cv) {
      body.push(
        bSrc === 'texture'
          ? `    let b${q}_${v} = textureLoad(tB, vec2<i32>(i32(nv0 + ${v}u), i32(4u * k4 + ${q}u)), 0);`
          : `    let b${q}_${v} = B[(4u * k4 + ${q}u) * ${nv}u + nv0 + ${v}u];`,
      );
    }
    for (const i of rows) for (const v of cv) body.push(`    c${i}_${v} = c${i}_${v} + a${i}[${q}] * b${q}_${v};`);
  }
  const store: string[] = [];
  for (const i of rows) for (const v of cv) store.push(`  C[(m0 + ${i}u) * ${nv}u + nv0 + ${v}u] = c${i}_${v};`);
  return `${decl.join('\n')}
@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;
@compute @workgroup_size(${WX}, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * ${TM}u;
  let nv0 = gid.x * ${TN / 4}u;
${init.join('\n')}
  for (var k4 = 0u; k4 < ${kv}u; k4 = k4 + 1u) {
${body.join('\n')}
  }
${store.join('\n')}
}`;
}

async function main(): Promise<void> {
  const engine = await initEngine(undefined, { quiet: true });
  const device = engine.device;
  console.log(`adapter: ${engine.describe()}; N = ${N}, tile ${TM}x${TN}w${WX}`);
  const a = new Float32Array(N * N).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
  const b = new Float32Array(N * N).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
  const U = GPUBufferUsage;
  const buf = (data: Float32Array<ArrayBuffer> | null, usage: number) => {
    const x = device.createBuffer({ size: N * N * 4, usage });
    if (data) device.queue.writeBuffer(x, 0, data);
    return x;
  };
  const tex = (data: Float32Array<ArrayBuffer>) => {
    const t = device.createTexture({ size: [N / 4, N], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST });
    device.queue.writeTexture({ texture: t }, data, { bytesPerRow: N * 4, rowsPerImage: N }, [N / 4, N]);
    return t;
  };
  const A = buf(a, U.STORAGE | U.COPY_DST);
  const B = buf(b, U.STORAGE | U.COPY_DST);
  const TA = tex(a);
  const TB = tex(b);
  // Bᵀ as a k-major texture: texel (k4, n) = B[4k4..4k4+3, n].
  const bt = new Float32Array(N * N);
  for (let k = 0; k < N; k++) for (let n = 0; n < N; n++) bt[n * N + k] = b[k * N + n];
  const TBT = tex(bt);
  const C = buf(null, U.STORAGE | U.COPY_SRC);
  const combos: [Src, Src][] = [
    ['storage', 'storage'],
    ['storage', 'texture'],
    ['texture', 'texture'],
    ['texture', 'textureT'],
  ];
  const variants = combos.map(([as, bs]) => {
    const module = device.createShaderModule({ code: bs === 'textureT' ? sourceNT() : source(as, bs) });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const group = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: as === 'texture' ? TA.createView() : { buffer: A } },
        { binding: 1, resource: bs === 'textureT' ? TBT.createView() : bs === 'texture' ? TB.createView() : { buffer: B } },
        { binding: 2, resource: { buffer: C } },
      ],
    });
    const run = () => {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(N / (TN * WX), N / TM, 1);
      pass.end();
      device.queue.submit([enc.finish()]);
    };
    return { name: `A ${as}, B ${bs}`, run, wall: [] as number[], cpu: [] as number[], first: 0 };
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
  let worst = 0;
  for (const v of variants) {
    const t0 = performance.now();
    v.run();
    await device.queue.onSubmittedWorkDone();
    v.first = performance.now() - t0;
    const out = await read();
    for (const row of [0, 5, N - 1]) {
      for (let j = 0; j < N; j += 37) {
        let acc = 0;
        for (let k = 0; k < N; k++) acc += a[row * N + k] * b[k * N + j];
        worst = Math.max(worst, Math.abs(acc - out[row * N + j]));
      }
    }
  }
  await roundRobin(device, variants, ROUNDS);
  report(variants, (2 * N * N * N) / 1e9, 26);
  console.log(`max |GPU − float64| over 3 rows, all variants = ${worst.toExponential(2)}`);
  process.exit(0);
}

void main();
