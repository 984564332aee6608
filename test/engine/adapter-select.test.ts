// Adapter choice in Node: the `auto` order, the start-up self-check, and falling back to the next
// adapter when one computes wrongly.
import { describe, expect, it } from 'vitest';
import { adapterOrder, adapterSelection, describeSelfCheck, getEngine, initEngine, openNodeAdapter, selfCheck, type SelfCheckResult } from '../../engine/node.ts';
// The engine does not import kernels: loading them registers the self-check initEngine runs and gradient accumulation.
import '../../kernels/index.ts';

describe('adapter selection', () => {
  it('auto tries a real GPU, then llvmpipe (GLES), then SwiftShader; other choices force one', () => {
    expect(adapterOrder('auto')).toEqual(['gpu', 'gles', 'swiftshader']);
    expect(adapterOrder('default')).toEqual(['gpu']);
    expect(adapterOrder('gles')).toEqual(['gles']);
    expect(adapterOrder('swiftshader')).toEqual(['swiftshader']);
  });

  it('the self-check passes on the adapter under test and names what it checked', async () => {
    await initEngine(undefined, { quiet: true, selfCheck: false });
    const r = await selfCheck();
    expect(r.items.map((i) => i.name)).toEqual(['matmul + sum', 'layerNorm', 'long sum']);
    expect(r.ok, describeSelfCheck(r)).toBe(true);
    expect(describeSelfCheck(r)).toMatch(/^ok \(matmul \+ sum, layerNorm, long sum; \d+ ms/);
    const bad: SelfCheckResult = { ok: false, ms: 1, items: [{ name: 'layerNorm', ok: false, detail: 'max |error| 2e-1' }] };
    expect(describeSelfCheck(bad)).toBe('FAILED: layerNorm max |error| 2e-1');
  });

  it('auto skips an adapter whose self-check fails, says so, and takes the next one', async () => {
    const kinds: string[] = [];
    for (const k of ['gles', 'swiftshader'] as const) {
      const o = await openNodeAdapter(k);
      if (o) {
        kinds.push(k);
        o.device.destroy();
      }
    }
    if (kinds.length < 2) return; // needs both CPU adapters (CI has them)
    let calls = 0;
    const failFirst = async (): Promise<SelfCheckResult> => {
      calls++;
      const r = await selfCheck();
      return calls === 1 ? { ...r, ok: false, items: [{ name: 'layerNorm', ok: false, detail: 'injected failure' }] } : r;
    };
    const first = (await initEngine('auto', { quiet: true, selfCheck: false })).adapter.kind;
    const writes: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await initEngine('auto', { quiet: true, selfCheck: failFirst });
    } finally {
      process.stderr.write = write;
    }
    const sel = adapterSelection()!;
    expect(calls).toBe(2);
    expect(sel.kind).not.toBe(first);
    expect(getEngine().adapter.kind).toBe(sel.kind);
    expect(sel.tried).toContain(`${first}: self-check FAILED: layerNorm injected failure`);
    expect(sel.selfCheck?.ok).toBe(true);
    expect(writes.join('')).toMatch(/failed its self-check \(FAILED: layerNorm injected failure\); trying the next one/);
  });

  it('a forced adapter is kept even when its self-check fails, with a warning', async () => {
    const writes: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    const kind = (await initEngine(undefined, { quiet: true, selfCheck: false })).adapter.kind;
    const forced = kind === 'gles' || kind === 'swiftshader' ? kind : null;
    if (!forced) {
      process.stderr.write = write;
      return;
    }
    try {
      await initEngine(forced, { quiet: true, selfCheck: async () => ({ ok: false, ms: 0, items: [{ name: 'x', ok: false, detail: 'bad' }] }) });
    } finally {
      process.stderr.write = write;
    }
    expect(adapterSelection()!.kind).toBe(forced);
    expect(adapterSelection()!.reason).toBe(`forced by SPOOFSCAN_ADAPTER=${forced}`);
    expect(writes.join('')).toMatch(/WARNING: .* failed its self-check \(FAILED: x bad\); results may be wrong/);
  });
});
