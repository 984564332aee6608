// Messages between the spoofscan page (web/app.ts, the UI thread) and its worker (web/app-worker.ts), which owns
// the WebGPU engine and the models. Every request carries an id; the worker answers with events (progress,
// per-step losses) and then exactly one `done` or `error` for that id.
import type { ClipCrop } from '../inference/clip.ts';
import type { DetectLabel } from '../inference/finetune.ts';
import type { ModelInfo } from '../models/model-info.ts';

export type Slot = 'detect' | 'trace';

export type ModelSourceSpec = { kind: 'url'; url: string } | { kind: 'file'; file: File };

export interface AudioInput {
  name: string;
  bytes: ArrayBuffer;
}

export type Request =
  | { type: 'init' }
  | { type: 'load'; source: ModelSourceSpec; /** Where a default model is expected to go (checked). */ expect?: Slot }
  | { type: 'warmup'; slot: Slot; window: number }
  | { type: 'score'; file: AudioInput; crop: ClipCrop; window: number }
  | { type: 'finetune'; clips: (AudioInput & { label: DetectLabel })[]; steps: number; lr: number; seed: number }
  | { type: 'export' }
  | { type: 'forget-cache' };

export interface InitResult {
  adapter: string;
  isCpu: boolean;
  limits: Record<string, number>;
  features: string[];
}

export interface LoadResult {
  slot: Slot;
  file: string;
  bytes: number;
  fromCache: boolean;
  /** The load report as the CLI prints it. */
  report: string;
  /** One-line configuration summary. */
  config: string;
  params: number;
  info: ModelInfo;
  /** describeProvenance(info). */
  provenance: string;
  ms: number;
}

export interface DetectResult {
  score: number;
  logits: number[];
  /** When the checkpoint carries calibration: llr = a·score + c and P(bona fide) at its prior (0.5 when absent). */
  llr?: number;
  probability?: number;
  windows: { start: number; score: number }[];
  ms: number;
}

export interface TraceResult {
  label: string;
  unseen: boolean;
  threshold: number;
  ranked: { name: string; prob: number }[];
  windows: { start: number; label: string; prob: number }[];
  ms: number;
}

export interface ScoreResult {
  name: string;
  samples: number;
  sourceRate: number;
  decodeMs: number;
  detect?: DetectResult;
  trace?: TraceResult;
}

export interface FineTuneResult {
  losses: number[];
  steps: number;
  featuresMs: number;
  stepMs: number[];
}

export type Event =
  | { kind: 'progress'; what: 'download' | 'upload' | 'features'; done: number; total: number }
  | { kind: 'status'; text: string }
  | { kind: 'loss'; step: number; loss: number; ms: number };

export type WorkerMessage =
  | { id: number; kind: 'event'; event: Event }
  | { id: number; kind: 'done'; result: unknown }
  | { id: number; kind: 'error'; message: string };
