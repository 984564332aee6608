// A training run's directory on disk (Node): the RunStore of trainer.ts.
//
//   DIR/config.json               resolved configuration (every default filled in)
//   DIR/log.jsonl                 one line per optimizer step and per epoch
//   DIR/state/latest.json         names the newest complete state directory
//   DIR/state/step-NNNNNNNN/      model.safetensors (weights, BN statistics and counters), optimizer.safetensors
//                                 (moments), loop.json (position, best, optimizer steps and hyper-parameters)
//   DIR/last.safetensors          the latest weights; DIR/best.safetensors the dev-selected ones
//   DIR/epochs/epoch-N.safetensors  with keep > 0
//   DIR/scores/dev-epoch-N.txt    every dev trial once
//
// A state directory is written under a temporary name, flushed and renamed; latest.json is replaced atomically
// afterwards, so a kill at any moment leaves the previous state usable. Leftover temporary files are removed on
// the next open.
import { appendFile, mkdir, readdir, readFile, rename, rm, truncate } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TEMP_MARKER, writeFileAtomic } from '../models/io/atomic-write.node.ts';
import { fileSource } from '../models/io/file-source.node.ts';
import type { HostTensor } from '../models/io/dtypes.ts';
import { openSafetensors } from '../models/io/safetensors.ts';
import { writeSafetensorsFile } from '../models/io/safetensors-write.node.ts';
import type { OptimizerState } from '../nn/optim.ts';
import type { LogRecord, LoopState, RunStore, Snapshot } from './trainer.ts';

const TMP = '.tmp-';

async function readSafetensorsFile(path: string): Promise<{ tensors: HostTensor[]; metadata: Record<string, string> | null }> {
  const src = await fileSource(path);
  try {
    const st = await openSafetensors(src);
    const tensors: HostTensor[] = [];
    for (const e of st.entries) tensors.push(await st.read(e));
    return { tensors, metadata: st.metadata };
  } finally {
    await src.close();
  }
}

interface LoopFile {
  format: 'spoofscan-train-state';
  version: 1;
  loop: LoopState;
  optimizers: Omit<OptimizerState, 'buffers'>[];
}

export class RunDir implements RunStore {
  constructor(readonly dir: string) {}

  path(...p: string[]): string {
    return join(this.dir, ...p);
  }

  /** Creates the layout and removes temporary leftovers of a killed run. */
  async prepare(): Promise<void> {
    for (const d of ['', 'state', 'scores', 'epochs']) await mkdir(this.path(d), { recursive: true });
    for (const d of ['', 'state', 'scores', 'epochs']) {
      for (const f of await readdir(this.path(d))) if (f.startsWith(TMP) || f.includes(TEMP_MARKER)) await rm(this.path(d, f), { recursive: true, force: true });
    }
  }

  hasState(): boolean {
    return existsSync(this.path('state', 'latest.json'));
  }

  async appendLog(records: readonly LogRecord[]): Promise<void> {
    await appendFile(this.path('log.jsonl'), records.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  /** Cuts log.jsonl back to its first `lines` lines (records written after the state being resumed). */
  async truncateLog(lines: number): Promise<void> {
    const file = this.path('log.jsonl');
    if (!existsSync(file)) return;
    const text = await readFile(file, 'utf8');
    let at = 0;
    for (let i = 0; i < lines; i++) {
      const nl = text.indexOf('\n', at);
      if (nl < 0) throw new Error(`${file}: has fewer than the ${lines} records the training state counts`);
      at = nl + 1;
    }
    await truncate(file, Buffer.byteLength(text.slice(0, at)));
  }

  async readLog(): Promise<LogRecord[]> {
    const file = this.path('log.jsonl');
    if (!existsSync(file)) return [];
    return (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogRecord);
  }

  async saveState(s: Snapshot): Promise<void> {
    const name = `step-${String(s.loop.step).padStart(8, '0')}-e${s.loop.epoch}-b${s.loop.batchInEpoch}`;
    const tmp = this.path('state', `${TMP}${name}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    await writeSafetensorsFile(join(tmp, 'model.safetensors'), s.model);
    const buffers: HostTensor[] = [];
    s.optimizers.forEach((o, g) => {
      for (const [k, b] of Object.entries(o.buffers)) buffers.push({ name: `${g}/${k}`, dtype: 'F32', shape: b.shape, data: b.data });
    });
    await writeSafetensorsFile(join(tmp, 'optimizer.safetensors'), buffers);
    const loop: LoopFile = { format: 'spoofscan-train-state', version: 1, loop: s.loop, optimizers: s.optimizers.map(({ buffers: _b, ...rest }) => rest) };
    await writeFileAtomic(join(tmp, 'loop.json'), JSON.stringify(loop, null, 1));
    const final = this.path('state', name);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    await writeFileAtomic(this.path('state', 'latest.json'), JSON.stringify({ state: name }) + '\n');
    for (const f of await readdir(this.path('state'))) if (f.startsWith('step-') && f !== name) await rm(this.path('state', f), { recursive: true, force: true });
  }

  async loadState(): Promise<Snapshot> {
    const latest = this.path('state', 'latest.json');
    let name: string;
    try {
      name = (JSON.parse(await readFile(latest, 'utf8')) as { state: string }).state;
    } catch (e) {
      throw new Error(`${latest}: unreadable (${(e as Error).message})`);
    }
    const dir = this.path('state', name);
    const loopFile = join(dir, 'loop.json');
    let lf: LoopFile;
    try {
      lf = JSON.parse(await readFile(loopFile, 'utf8')) as LoopFile;
    } catch (e) {
      throw new Error(`${loopFile}: unreadable (${(e as Error).message})`);
    }
    if (lf.format !== 'spoofscan-train-state' || lf.version !== 1) throw new Error(`${loopFile}: not a spoofscan training state (version 1)`);
    const model = (await readSafetensorsFile(join(dir, 'model.safetensors'))).tensors;
    const opt = (await readSafetensorsFile(join(dir, 'optimizer.safetensors'))).tensors;
    const optimizers: OptimizerState[] = lf.optimizers.map((o) => ({ ...o, buffers: {} }));
    for (const t of opt) {
      const slash = t.name.indexOf('/');
      const g = Number(t.name.slice(0, slash));
      if (!optimizers[g]) throw new Error(`${dir}/optimizer.safetensors: tensor ${t.name} names no optimizer group`);
      optimizers[g].buffers[t.name.slice(slash + 1)] = { shape: t.shape, data: t.data as Float32Array };
    }
    return { loop: lf.loop, model, optimizers };
  }

  async saveModel(name: string, tensors: readonly HostTensor[], metadata: Record<string, string>): Promise<void> {
    const file = name.startsWith('epoch-') ? this.path('epochs', `${name}.safetensors`) : this.path(`${name}.safetensors`);
    await writeSafetensorsFile(file, tensors, metadata);
  }

  async saveDevScores(epoch: number, text: string): Promise<void> {
    await writeFileAtomic(this.path('scores', `dev-epoch-${epoch}.txt`), text);
  }

  async pruneEpochModels(keep: number): Promise<void> {
    const files = (await readdir(this.path('epochs'))).filter((f) => /^epoch-\d+\.safetensors$/.test(f));
    files.sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]));
    for (const f of files.slice(0, Math.max(0, files.length - keep))) await rm(this.path('epochs', f), { force: true });
  }

  async writeConfig(config: unknown): Promise<void> {
    await writeFileAtomic(this.path('config.json'), JSON.stringify(config, null, 2) + '\n');
  }

  async readConfig(): Promise<unknown> {
    const file = this.path('config.json');
    try {
      return JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: unreadable (${(e as Error).message}); is ${this.dir} a spoofscan training directory?`);
    }
  }

  async writeText(name: string, text: string): Promise<void> {
    await writeFileAtomic(this.path(name), text);
  }
}

