// Node side of the data loader: a pool of worker_threads that decode, augment and crop items ahead
// of the consumer (the GPU), and the check that every listed file exists before training starts.
// (Opening and reading audio files safely: files.node.ts; decoding them: read-audio.node.ts.)

import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DataError } from './errors.ts';
import { fsPath } from './raw-path.node.ts';
import { decodeAudioFile } from './read-audio.node.ts';
import { DataLoader, InlineSource, type ItemSource, type LoaderOptions } from './loader.ts';
import type { ItemJob, ItemResult, PipelineOptions } from './pipeline.ts';
import type { TrialRecord } from './protocols.ts';

/**
 * Checks that every record's file exists, and reports all missing files at once (first `show` of them
 * with the list line that names them) instead of failing one at a time during training.
 */
export async function checkFilesExist(records: TrialRecord[], show = 20, concurrency = 64): Promise<void> {
  const absent = new Uint8Array(records.length);
  let i = 0;
  const work = async () => {
    while (i < records.length) {
      const k = i++;
      try {
        if (!(await stat(await fsPath(records[k].path))).isFile()) absent[k] = 1;
      } catch {
        absent[k] = 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, records.length) }, work));
  const missing = records.filter((_, k) => absent[k]);
  if (!missing.length) return;
  const lines = missing.slice(0, show).map((r) => `${r.source}: ${r.path}`);
  if (missing.length > show) lines.push(`… and ${missing.length - show} more`);
  throw new DataError(`${missing.length} of ${records.length} listed audio files are missing:\n  ${lines.join('\n  ')}`);
}

interface Pending {
  resolve: (r: ItemResult) => void;
  reject: (e: Error) => void;
}

/**
 * Prepares items in `workers` worker threads (default: available cores − 1, at least 1). Each worker is
 * handed up to `perWorker` jobs at once, so it keeps working while the main thread is busy (e.g. in a
 * synchronous GPU call) and cannot collect results.
 */
export class WorkerPoolSource implements ItemSource {
  private readonly workers: Worker[] = [];
  private readonly inflight = new Map<Worker, number>();
  private started = false;
  private failure: Error | null = null;
  private readonly queue: { id: number; job: ItemJob }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(
    opts: PipelineOptions,
    workers = Math.max(1, availableParallelism() - 1),
    private readonly perWorker = 4,
  ) {
    const url = new URL('./worker-entry.node.mjs', import.meta.url);
    const readies: Promise<void>[] = [];
    for (let i = 0; i < workers; i++) {
      const w = new Worker(url, { workerData: opts });
      this.workers.push(w);
      readies.push(
        new Promise<void>((resolve, reject) => {
          const onMsg = (m: { ready?: boolean }) => {
            if (m.ready) {
              w.off('message', onMsg);
              w.off('error', reject);
              resolve();
            }
          };
          w.on('message', onMsg);
          w.once('error', reject);
        }),
      );
      w.on('message', (m: { id?: number; result?: ItemResult; error?: { message: string; userFacing: boolean } }) => {
        if (m.id === undefined) return;
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) {
          const e = m.error.userFacing ? new DataError(m.error.message) : new Error(m.error.message);
          p?.reject(e);
        } else p?.resolve(m.result!);
        this.inflight.set(w, this.inflight.get(w)! - 1);
        this.pump();
      });
      w.on('error', (e) => this.failAll(e));
      w.on('exit', (code) => {
        if (!this.closed) this.failAll(new Error(`data worker exited with code ${code}`));
      });
    }
    for (const w of this.workers) this.inflight.set(w, 0);
    // A worker that fails to start rejects everything through failAll (its 'error' event).
    Promise.all(readies).then(
      () => {
        this.started = true;
        this.pump();
      },
      () => undefined,
    );
  }

  get size(): number {
    return this.workers.length;
  }

  private failAll(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.queue.length = 0;
  }

  private pump(): void {
    if (!this.started) return;
    while (this.queue.length) {
      let best: Worker | null = null;
      for (const w of this.workers) if (this.inflight.get(w)! < this.perWorker && (!best || this.inflight.get(w)! < this.inflight.get(best)!)) best = w;
      if (!best) return;
      this.inflight.set(best, this.inflight.get(best)! + 1);
      best.postMessage(this.queue.shift());
    }
  }

  async prepare(job: ItemJob): Promise<ItemResult> {
    if (this.closed) throw new Error('WorkerPoolSource is closed');
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    const result = new Promise<ItemResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.queue.push({ id, job });
    this.pump();
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('WorkerPoolSource closed while items were pending'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export interface NodeLoaderOptions extends LoaderOptions {
  pipeline: PipelineOptions;
  /** Worker threads; 0 prepares items on the main thread. Default: cores − 1. */
  workers?: number;
  /** Skip the up-front missing-file check. */
  skipFileCheck?: boolean;
}

/** A DataLoader over files on disk; checks that every file exists first (all missing reported at once). */
export async function createNodeLoader(records: TrialRecord[], opts: NodeLoaderOptions): Promise<DataLoader> {
  if (!opts.skipFileCheck) await checkFilesExist(records);
  const source: ItemSource =
    opts.workers === 0 ? new InlineSource(decodeAudioFile, opts.pipeline) : new WorkerPoolSource(opts.pipeline, opts.workers);
  return new DataLoader(records, source, opts);
}
