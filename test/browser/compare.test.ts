// The comparison that the browser smoke test relies on must catch real differences.
import { describe, expect, it } from 'vitest';
import { compareSmokeResults, type SmokeResults } from '../../web/smoke-suite.ts';

const base: SmokeResults = {
  a: { shape: [2], values: [1, -2] },
  b: { shape: [1], values: [0] },
};

describe('compareSmokeResults', () => {
  it('accepts identical results and differences inside the tolerance', () => {
    expect(compareSmokeResults(base, base).mismatches).toEqual([]);
    const close = { ...base, a: { shape: [2], values: [1 + 5e-6, -2] }, b: { shape: [1], values: [5e-7] } };
    const r = compareSmokeResults(base, close, 1e-5, 1e-6);
    expect(r.mismatches).toEqual([]);
    expect(r.maxAbsDiff).toBeCloseTo(5e-6, 8);
    expect(r.toleranceUsed).toBeGreaterThan(0.4);
    expect(r.toleranceUsed).toBeLessThanOrEqual(1);
  });

  it('reports a value off by more than the tolerance, a shape change and a missing case', () => {
    const off = { ...base, a: { shape: [2], values: [1, -2.0001] } };
    expect(compareSmokeResults(base, off).mismatches).toEqual([{ name: 'a', problem: expect.stringContaining('value 1 is -2.0001') }]);
    const reshaped = { ...base, a: { shape: [2, 1], values: [1, -2] } };
    expect(compareSmokeResults(base, reshaped).mismatches[0].problem).toMatch(/shape \[2,1\]/);
    const missing: SmokeResults = { a: base.a };
    expect(compareSmokeResults(base, missing).mismatches).toEqual([{ name: 'b', problem: 'present only in the expected results' }]);
  });

  it('rejects NaN against a number', () => {
    const nan = { ...base, b: { shape: [1], values: [Number.NaN] } };
    expect(compareSmokeResults(base, nan).mismatches.map((m) => m.name)).toEqual(['b']);
  });
});
