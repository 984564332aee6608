// A real single-node Slurm (Debian's slurmctld, slurmd, munge; scripts/slurm-local.sh) runs an array job of 3
// tasks, each `spoofscan score --shard auto` on its share of a data/mini dev list; `spoofscan merge` of the 3
// shard files must equal, byte for byte, the unsharded run's score file, and eval reads it. Skipped, with the
// reason, only where Slurm cannot be started here (packages not installed, not root).
//
// Scoring uses --crop full (the whole, short clips in one pass) to stay well within ~2 minutes on a 2-core CPU
// adapter.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRETRAINED } from '../../cli/pretrained.ts';

const exec = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(REPO, 'scripts', 'slurm-local.sh');
const BIN = join(REPO, 'bin', 'spoofscan.mjs');
// The bundled demo detector when present, else the tiny MultiAPI-layout fixture.
const MODEL = existsSync(PRETRAINED.detector) ? PRETRAINED.detector : join(REPO, 'test', 'fixtures', 'nes2net', 'detector-ddp.pth');
const TASKS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'spoofscan-slurm-'));
const slurmDir = join(dir, 'slurm');
let skipReason: string | null = null;
let env: NodeJS.ProcessEnv = {};

beforeAll(() => {
  try {
    const out = execFileSync(SCRIPT, ['start', slurmDir], { encoding: 'utf8', timeout: 60_000 });
    const conf = /export SLURM_CONF=(\S+)/.exec(out)?.[1];
    if (!conf) throw new Error(`no SLURM_CONF in: ${out}`);
    // The job inherits this environment (sbatch --export=ALL): the test runner's own variables stay out.
    env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|NODE_OPTIONS|TINYPOOL|SPOOFSCAN_ADAPTER)/.test(k)));
    env.SLURM_CONF = conf;
  } catch (e) {
    const err = e as { status?: number; stdout?: string; message: string };
    if (err.status === 2) skipReason = `Slurm cannot be started here: ${String(err.stdout).trim()}`;
    else throw e;
  }
}, 90_000);

afterAll(() => {
  if (existsSync(slurmDir)) execFileSync(SCRIPT, ['stop', slurmDir], { timeout: 60_000 });
  rmSync(dir, { recursive: true, force: true });
}, 90_000);

describe('Slurm job array (single node, localhost)', () => {
  it(`sbatch --array=0-${TASKS - 1}: score --shard auto per task; merge equals the unsharded scores`, async (ctx) => {
    if (skipReason) {
      console.warn(`skipped: ${skipReason}`);
      ctx.skip(skipReason);
    }
    const lines = readFileSync(join(REPO, 'data', 'mini', 'protocols', 'dev.txt'), 'utf8').split('\n').filter((l) => l.trim());
    const list = join(dir, 'dev-subset.txt');
    writeFileSync(list, lines.join('\n') + '\n');
    const args = ['score', '--model', MODEL, '--list', list, '--root', join(REPO, 'data', 'mini'), '--crop', 'full'];

    const job = join(dir, 'score-array.sh');
    writeFileSync(
      job,
      ['#!/bin/bash', '#SBATCH --job-name=spoofscan-score', '#SBATCH --cpus-per-task=1', 'set -euo pipefail',
        `echo "start $(date +%s.%N)"`,
        `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${args.map((a) => JSON.stringify(a)).join(' ')} --shard auto --out ${JSON.stringify(join(dir, 'scores.'))}"$SLURM_ARRAY_TASK_ID.tsv"`,
        `echo "end $(date +%s.%N)"`, ''].join('\n'),
    );
    const t0 = Date.now();
    const submitted = await exec('sbatch', ['--parsable', `--array=0-${TASKS - 1}`, '--output', join(dir, 'task-%a.log'), '--chdir', REPO, job], { env });
    const jobId = submitted.stdout.trim().split(';')[0];
    // Poll squeue (sbatch --wait backs off to 30 s polls): done when the array has no job left in the queue.
    for (;;) {
      const q = await exec('squeue', ['-h', '-j', jobId, '-o', '%i %T'], { env }).catch(() => ({ stdout: '' }));
      if (!q.stdout.trim()) break;
      if (Date.now() - t0 > 240_000) throw new Error(`the array job is still queued after 240 s:\n${q.stdout}`);
      await sleep(500);
    }
    const arraySecs = (Date.now() - t0) / 1000;
    const stamps = Array.from({ length: TASKS }, (_, i) => readFileSync(join(dir, `task-${i}.log`), 'utf8'));
    const times = (w: string) => stamps.map((l) => Number(new RegExp(`^${w} (\\S+)`, 'm').exec(l)?.[1]));
    const ends = times('end');
    expect(ends.every(Number.isFinite), `every task ran to its end:\n${stamps.join('\n---\n')}`).toBe(true);
    const span = Math.max(...ends) - Math.min(...times('start'));
    const shards = Array.from({ length: TASKS }, (_, i) => join(dir, `scores.${i}.tsv`));
    for (let i = 0; i < TASKS; i++) {
      const log = readFileSync(join(dir, `task-${i}.log`), 'utf8');
      expect(log).toMatch(new RegExp(`shard ${i}/${TASKS} \\(SLURM_ARRAY_TASK_ID=${i} SLURM_ARRAY_TASK_COUNT=${TASKS}`));
      expect(readFileSync(shards[i], 'utf8')).toMatch(new RegExp(`^# shard=${i}/${TASKS} of ${lines.length} `));
    }

    const t1 = Date.now();
    const whole = join(dir, 'unsharded.tsv');
    await exec(process.execPath, [BIN, ...args, '--out', whole], { env, timeout: 240_000 });
    const wholeSecs = (Date.now() - t1) / 1000;

    const merged = join(dir, 'merged.tsv');
    await exec(process.execPath, [BIN, 'merge', merged, ...shards.reverse(), '--list', list], { env });
    expect(readFileSync(merged, 'utf8')).toBe(readFileSync(whole, 'utf8'));
    const ev = await exec(process.execPath, [BIN, 'eval', '--scores', merged, '--protocol', list], { env });
    expect(ev.stdout).toMatch(/EER/i);
    console.log(`slurm array of ${TASKS} tasks, ${lines.length} clips: first task start to last task end ${span.toFixed(1)} s, submit to empty queue ${arraySecs.toFixed(1)} s; unsharded run ${wholeSecs.toFixed(1)} s`);
  }, 300_000);
});
