// Every benchmark runs end to end on tiny cases: exit code 0 (their own correctness checks pass),
// a JSON record with the adapter and one row per case. Timings are not judged here (bench/ is for that).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useEngine } from '../helpers/engine.ts';
import * as matmul from '../../bench/matmul.ts';
import * as conv from '../../bench/conv.ts';
import * as localAttention from '../../bench/local-attention.ts';
import * as xlsr from '../../bench/xlsr.ts';
import * as train from '../../bench/train.ts';
import * as metrics from '../../bench/metrics.ts';
import * as peers from '../../bench/peers.ts';

useEngine();

function hasTorch(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch, torchaudio'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spoofscan-bench-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs a benchmark's run(argv) quietly and returns its exit code, JSON record and printed table. */
async function runBench(mod: { run(argv: string[]): Promise<number> }, name: string, argv: string[]) {
  const json = join(dir, `${name}.json`);
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await mod.run([...argv, '--json', json]);
    return { code, record: JSON.parse(await readFile(json, 'utf8')) as Record<string, unknown> & { environment: { adapterDescription: string } }, out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('benchmarks run end to end on tiny cases', () => {
  it('matmul: every variant on a square and a transposed case', async () => {
    const { code, record, out } = await runBench(matmul, 'matmul', ['--quick', '--sizes', '16,8x12x20:nt', '--budget', '0.01', '--texture-tiles', '8x4w2']);
    expect(code).toBe(0);
    const cases = record.cases as { label: string; results: { name: string; gflops: number; maxRelErr: number }[] }[];
    expect(cases.map((c) => c.results.map((r) => r.name))).toEqual([
      ['naive', 'blocked', 'tiled', 'lanes', 'texture', 'texture 8x4w2'],
      ['naive', 'blocked', 'tiled', 'lanes', 'texture', 'texture 8x4w2'],
    ]);
    for (const c of cases) for (const r of c.results) expect(r.gflops).toBeGreaterThan(0);
    expect(out).toMatch(/GFLOP\/s/);
    expect(record.environment.adapterDescription).toBeTruthy();
  });

  it('peers: spoofscan against whichever peers are installed; a missing one is skipped with the reason', async () => {
    // A python that does not exist: the torch peer must be skipped, not fail the bench, and so must the ORT
    // peers whose graphs PyTorch exports; XLS-R then runs on spoofscan's own random weights, unchecked.
    const { code, record } = await runBench(peers, 'peers', ['--quick', '--sizes', '16', '--budget', '0.01', '--python', '/nonexistent/python3', '--cache', join(dir, 'peers-cache')]);
    expect(code).toBe(0);
    const cases = record.cases as { kind: string; label: string; results: { peer: string; skipped: string | null; gflops: number | null; maxRelErr: number | null }[] }[];
    expect(cases.map((c) => c.kind)).toEqual(['matmul', 'local-attention', 'xlsr']);
    for (const c of cases) expect(c.results.map((r) => r.peer)).toEqual(['spoofscan', 'tfjs-webgpu', 'ort-cpu', 'torch-cpu']);
    const [mm, attn, xlsr] = cases;
    for (const c of cases) {
      const [ours, , , torch] = c.results;
      expect(ours.skipped).toBeNull();
      expect(ours.gflops).toBeGreaterThan(0);
      expect(torch.skipped).toMatch(/nonexistent/);
      for (const r of c.results) if (!r.skipped && r.maxRelErr !== null) expect(r.maxRelErr).toBeLessThanOrEqual(1e-4);
    }
    for (const r of mm.results) if (!r.skipped) expect(r.maxRelErr).toBeLessThanOrEqual(1e-4);
    expect(attn.results[1].skipped).toMatch(/tfjs/);
    expect(attn.results[2].skipped ?? '').toMatch(/^$|PyTorch|not installed/);
    // No ONNX export of the XLS-R in the cache: ORT is skipped and told how to make one.
    expect(xlsr.results[2].skipped).toMatch(/no ONNX export at .*export-xlsr|not installed/);
  });

  // Where Debian's PyTorch is installed: the torch peer shares spoofscan's XLS-R weights (made by PyTorch, read by
  // models/io) and the outputs agree; ORT runs PyTorch's export of the local-attention function.
  it.skipIf(!hasTorch())('peers: PyTorch (and ORT from its export) agree with spoofscan on local attention and the tiny XLS-R', async () => {
    const { code, record } = await runBench(peers, 'peers-torch', ['--quick', '--cases', 'local-attention,xlsr', '--peers', 'spoofscan,ort-cpu,torch-cpu', '--budget', '0.01', '--cache', join(dir, 'peers-cache-torch')]);
    expect(code).toBe(0);
    const cases = record.cases as { kind: string; results: { peer: string; skipped: string | null; maxRelErr: number | null }[] }[];
    const [attn, xlsr] = cases;
    expect(attn.results.map((r) => r.peer)).toEqual(['spoofscan', 'ort-cpu', 'torch-cpu']);
    for (const r of attn.results) if (!r.skipped) expect(r.maxRelErr).toBeLessThanOrEqual(1e-4);
    const torch = xlsr.results.find((r) => r.peer === 'torch-cpu')!;
    expect(torch.skipped).toBeNull();
    expect(xlsr.results[0].maxRelErr).toBeLessThanOrEqual(1e-4);
  }, 60_000);

  it('conv: implicit kernels and im2col agree on a short clip', async () => {
    const { code, record } = await runBench(conv, 'conv', ['--quick', '--cases', 'enc6,pos', '--samples', '4000', '--modes', 'fwd,fwdbwd']);
    expect(code).toBe(0);
    const rows = record.rows as { case: string; mode: string; maxRelDiff: number | null }[];
    expect(rows.map((r) => `${r.case} ${r.mode}`)).toEqual(['enc6 fwd', 'enc6 fwdbwd', 'pos fwd', 'pos fwdbwd']);
    for (const r of rows.filter((x) => x.mode === 'fwd')) expect(r.maxRelDiff).toBeLessThanOrEqual(1e-4);
  });

  it('local-attention: fused, composed and band paths agree', async () => {
    const { code, record } = await runBench(localAttention, 'local-attention', ['--quick', '--n', '8,33', '--w', '3', '--heads', '1', '--dims', '64']);
    expect(code).toBe(0);
    const rows = record.rows as { N: number; mode: string; maxRelDiff: number | null; composedRatio: number | null }[];
    expect(rows.length).toBe(4);
    for (const r of rows.filter((x) => x.mode === 'fwd')) expect(r.maxRelDiff).toBeLessThanOrEqual(1e-4);
    for (const r of rows) expect(r.composedRatio).toBeGreaterThan(0);
  });

  it('xlsr: eval forward and a training step of the tiny preset, per stage', async () => {
    const { code, record } = await runBench(xlsr, 'xlsr', ['--preset', 'tiny', '--samples', '4000', '--batches', '1', '--runs', '0']);
    expect(code).toBe(0);
    const rows = record.rows as { case: string; ms: number; stageMs: Record<string, number> }[];
    expect(rows.map((r) => r.case)).toEqual(['eval b1', 'train b1']);
    for (const r of rows) expect(Object.keys(r.stageMs).sort()).toEqual(['featureEncoder', 'positionalConv', 'transformer']);
    expect(record.frames).toBe(12);
  });

  it('train: optimizer steps of the tiny preset through the training loop, with clips/s and peak memory', async () => {
    const { code, record } = await runBench(train, 'train', ['--batches', '1,2', '--samples', '4000', '--steps', '1']);
    expect(code).toBe(0);
    const rows = record.rows as { preset: string; batch: number; clipsPerSec: number; peakPoolBytes: number }[];
    expect(rows.map((r) => [r.preset, r.batch])).toEqual([['tiny', 1], ['tiny', 2]]);
    for (const r of rows) {
      expect(r.clipsPerSec).toBeGreaterThan(0);
      expect(r.peakPoolBytes).toBeGreaterThan(0);
    }
  });

  it('every benchmark answers --help without running, and metrics runs --quick', async () => {
    for (const mod of [matmul, conv, localAttention, xlsr, train, metrics, peers] as { run(argv: string[]): Promise<number> }[]) {
      const lines: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
      try {
        expect(await mod.run(['--help'])).toBe(0);
      } finally {
        log.mockRestore();
      }
      expect(lines.join('\n')).toMatch(/^usage: spoofscan bench /);
    }
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      expect(await metrics.run(['--quick'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ bench: 'metrics', trials: 100000 });
  });
});
