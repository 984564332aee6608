// Batching data loader (browser-shared). Shuffles anew every epoch from (seed, epoch), optionally
// class-balanced; prepares items ahead of the consumer through an ItemSource (in-process here,
// worker threads in loader.node.ts) and packs them into plain Float32Array [B, L] batches that the
// engine can upload as they are. Reports throughput.

import type { AudioReader } from './decode.ts';
import { prepareRead, type ItemJob, type ItemResult, type PipelineOptions } from './pipeline.ts';
import { Rng } from './prng.ts';
import { labelIndex, type TrialRecord } from './protocols.ts';

export interface ItemSource {
  prepare(job: ItemJob): Promise<ItemResult>;
  close?(): Promise<void> | void;
}

/** Prepares items on the calling thread; `read` reads and decodes a file (Node: decodeAudioFile; else
 *  bytesAudioReader over fetch, File…). */
export class InlineSource implements ItemSource {
  constructor(
    private readonly read: AudioReader,
    private readonly opts: PipelineOptions,
  ) {}
  async prepare(job: ItemJob): Promise<ItemResult> {
    return prepareRead(this.read, job, this.opts);
  }
}

export interface OrderOptions {
  shuffle: boolean;
  /** Equal numbers of items per class each epoch (classes drawn from their own reshuffled cycles). */
  balanced?: boolean;
  /** Items per epoch; default: the dataset size. */
  epochSize?: number;
}

const STREAM_ORDER = 0x5eed;

/**
 * The record indices of one epoch. Without shuffle: 0..N−1. With shuffle: a permutation drawn from
 * (seed, epoch). Balanced: each class gets ⌊size/K⌋ slots (the remainder to random classes), filled
 * from that class's records in a reshuffled cycle, then all slots shuffled.
 */
export function epochOrder(labels: ArrayLike<number>, seed: number, epoch: number, opts: OrderOptions): Uint32Array {
  const n = labels.length;
  const size = opts.epochSize ?? n;
  const rng = Rng.derive(seed, epoch, STREAM_ORDER);
  if (!opts.balanced) {
    if (size !== n) {
      // Cycle through reshuffled permutations until `size` items.
      const out = new Uint32Array(size);
      for (let o = 0; o < size; o += n) {
        const p = opts.shuffle ? rng.permutation(n) : Uint32Array.from({ length: n }, (_, i) => i);
        out.set(p.subarray(0, Math.min(n, size - o)), o);
      }
      return out;
    }
    return opts.shuffle ? rng.permutation(n) : Uint32Array.from({ length: n }, (_, i) => i);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const k = classes.length;
  const quota = classes.map(() => Math.floor(size / k));
  const extra = rng.sampleWithoutReplacement(k, size % k);
  for (const c of extra) quota[c]++;
  const out = new Uint32Array(size);
  let o = 0;
  classes.forEach((c, ci) => {
    const members = Uint32Array.from(byClass.get(c)!);
    let cycle = 0;
    for (let taken = 0; taken < quota[ci]; cycle++) {
      const perm = opts.shuffle ? Rng.derive(seed, epoch, STREAM_ORDER, c, cycle).shuffle(members.slice()) : members;
      const m = Math.min(perm.length, quota[ci] - taken);
      out.set(perm.subarray(0, m), o);
      o += m;
      taken += m;
    }
  });
  return opts.shuffle ? rng.shuffle(out) : out;
}

export interface Batch {
  epoch: number;
  /** Batch number within the epoch. */
  index: number;
  /** rows × length samples, row-major: upload as a [rows, length] tensor. */
  x: Float32Array;
  shape: [number, number];
  /** Per row: class index (spoof 0, bona fide 1, or the tracing class). */
  labels: Int32Array;
  /** Per row: index of the record in the dataset. */
  records: Uint32Array;
  /** Per row: how many rows (windows) its record has in total; 1 except with policy 'windows'. */
  windowCounts: Uint32Array;
}

export interface LoaderOptions extends OrderOptions {
  batchSize: number;
  /** Drop the last incomplete batch (training); default false. */
  dropLast?: boolean;
  /** Items prepared ahead of the consumer; default 2 batches' worth. */
  prefetch?: number;
  seed: number;
}

export interface ThroughputStats {
  epoch: number;
  items: number;
  rows: number;
  batches: number;
  /** Wall time since the epoch started, seconds. */
  seconds: number;
  itemsPerSecond: number;
  /** Seconds of (16 kHz) audio prepared per wall second. */
  audioSecondsPerSecond: number;
  /** Time the consumer spent waiting for data, seconds, and as a fraction of the wall time. */
  waitSeconds: number;
  waitFraction: number;
}

/** One log line, e.g. "epoch 3: 272 items in 11.6 s, 23.5 items/s, 61.7 s of audio/s, waiting for data 99 %". */
export function formatThroughput(s: ThroughputStats): string {
  return (
    `epoch ${s.epoch}: ${s.items} items in ${s.seconds.toFixed(1)} s, ${s.itemsPerSecond.toFixed(1)} items/s, ` +
    `${s.audioSecondsPerSecond.toFixed(1)} s of audio/s, waiting for data ${(100 * s.waitFraction).toFixed(0)} %`
  );
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now()) / 1000;

export class DataLoader {
  readonly labels: Int32Array;
  private stats_: ThroughputStats | null = null;

  constructor(
    readonly records: TrialRecord[],
    readonly source: ItemSource,
    readonly opts: LoaderOptions,
  ) {
    if (!(opts.batchSize >= 1)) throw new RangeError(`batchSize must be ≥ 1, got ${opts.batchSize}`);
    this.labels = Int32Array.from(records, (r) => labelIndex(r.label));
  }

  /** Record indices of epoch `epoch`, in order. */
  order(epoch: number): Uint32Array {
    return epochOrder(this.labels, this.opts.seed, epoch, this.opts);
  }

  /** Number of batches an epoch yields (exact unless policy 'windows', where it is the number of items). */
  batchesPerEpoch(): number {
    const n = this.opts.epochSize ?? this.records.length;
    return this.opts.dropLast ? Math.floor(n / this.opts.batchSize) : Math.ceil(n / this.opts.batchSize);
  }

  /** Throughput of the current (or last) epoch. */
  get stats(): ThroughputStats | null {
    return this.stats_;
  }

  /**
   * Yields the batches of one epoch. Items are prepared `prefetch` ahead while the consumer works.
   * Rows of different lengths (policy 'full') are never mixed: a batch closes when the length changes.
   * `from` starts at that position of the epoch's order (a resumed run: `from` = batches done × batch size;
   * items keep their per-position randomness, so the rest of the epoch is what it would have been).
   */
  async *epoch(epoch: number, from = 0): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const B = this.opts.batchSize;
    const ahead = Math.max(1, this.opts.prefetch ?? 2 * B);
    const pending: Promise<ItemResult>[] = [];
    const start = now();
    const st: ThroughputStats = {
      epoch,
      items: 0,
      rows: 0,
      batches: 0,
      seconds: 0,
      itemsPerSecond: 0,
      audioSecondsPerSecond: 0,
      waitSeconds: 0,
      waitFraction: 0,
    };
    let audioSeconds = 0;
    this.stats_ = st;
    const update = () => {
      st.seconds = now() - start;
      st.itemsPerSecond = st.items / Math.max(st.seconds, 1e-9);
      st.audioSecondsPerSecond = audioSeconds / Math.max(st.seconds, 1e-9);
      st.waitFraction = st.waitSeconds / Math.max(st.seconds, 1e-9);
    };
    if (!(Number.isInteger(from) && from >= 0 && from <= order.length)) throw new RangeError(`epoch: start position ${from} is outside 0..${order.length}`);
    let next = from; // next position to submit
    const submit = () => {
      while (next < order.length && next - (from + st.items) < ahead) {
        const rec = order[next];
        const job: ItemJob = { record: rec, position: next, epoch, path: this.records[rec].path };
        const p = this.source.prepare(job);
        p.catch(() => undefined); // observed when awaited; avoid unhandled-rejection noise meanwhile
        pending[next] = p; // indexed by position: a resumed epoch starts at `from`, not 0
        next++;
      }
    };

    let rows: { data: Float32Array; record: number; count: number }[] = [];
    let rowLength = -1;
    let batchIndex = Math.floor(from / B);
    const flush = (): Batch => {
      const L = rowLength;
      const x = new Float32Array(rows.length * L);
      const b: Batch = {
        epoch,
        index: batchIndex++,
        x,
        shape: [rows.length, L],
        labels: new Int32Array(rows.length),
        records: new Uint32Array(rows.length),
        windowCounts: new Uint32Array(rows.length),
      };
      rows.forEach((r, i) => {
        x.set(r.data, i * L);
        b.labels[i] = this.labels[r.record];
        b.records[i] = r.record;
        b.windowCounts[i] = r.count;
      });
      rows = [];
      st.batches++;
      st.rows += b.shape[0];
      update();
      return b;
    };

    try {
      for (let pos = from; pos < order.length; pos++) {
        submit();
        const t0 = now();
        const res = await pending[pos];
        delete pending[pos];
        st.waitSeconds += now() - t0;
        st.items++;
        audioSeconds += res.seconds;
        if (rows.length && res.length !== rowLength) yield flush();
        rowLength = res.length;
        for (let r = 0; r < res.rows; r++) {
          rows.push({ data: res.data.subarray(r * res.length, (r + 1) * res.length), record: order[pos], count: res.rows });
          if (rows.length === B) yield flush();
        }
        submit();
      }
      if (rows.length && !this.opts.dropLast) yield flush();
      update();
    } finally {
      // Let in-flight work settle so a closed generator leaves no dangling rejections.
      await Promise.allSettled(pending.filter(Boolean));
    }
  }
}
