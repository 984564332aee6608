// Page entry of web/smoke.html: opens WebGPU through navigator.gpu, runs the smoke suite and
// publishes the outcome on `window.spoofscanSmoke` (read by test/browser/) and in the page.
import { initBrowserEngine } from '../engine/index.ts';
import { runSmokeSuite, type SmokeResults } from './smoke-suite.ts';
import type { AdapterSummary } from '../engine/index.ts';

export type SmokeOutcome =
  | { status: 'running' }
  | { status: 'done'; adapter: AdapterSummary; description: string; ms: number; results: SmokeResults }
  | { status: 'error'; error: string };

declare global {
  interface Window {
    spoofscanSmoke: SmokeOutcome;
  }
}

function show(text: string): void {
  const el = document.getElementById('out');
  if (el) el.textContent = text;
}

function preview(values: number[]): string {
  const head = values.slice(0, 4).map((v) => v.toFixed(5)).join(', ');
  return values.length > 4 ? `${head}, … (${values.length})` : head;
}

async function main(): Promise<void> {
  window.spoofscanSmoke = { status: 'running' };
  show('running…');
  try {
    const engine = await initBrowserEngine();
    const t0 = performance.now();
    const results = await runSmokeSuite();
    const ms = Math.round(performance.now() - t0);
    window.spoofscanSmoke = { status: 'done', adapter: engine.adapter, description: engine.describe(), ms, results };
    const width = Math.max(...Object.keys(results).map((n) => n.length)) + 1;
    const lines = Object.entries(results).map(([name, r]) => `${name.padEnd(width)} [${r.shape.join('×')}]  ${preview(r.values)}`);
    show(`adapter: ${engine.describe()}\n${Object.keys(results).length} cases in ${ms} ms\n\n${lines.join('\n')}`);
  } catch (e) {
    const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    window.spoofscanSmoke = { status: 'error', error };
    show(`FAILED: ${error}`);
  }
}

void main();
