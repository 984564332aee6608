// Training configuration: recipe defaults per task, file / --set overrides with type checks, validation messages,
// and the learning-rate schedules.
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, learningRate, mergeConfig, parseSet, validateConfig } from '../../train/config.ts';

const withLists = (task: 'detect' | 'trace') => mergeConfig(defaultConfig(task), { data: { train: 't.txt', dev: 'd.txt' } }, 'test');

describe('train config', () => {
  it('defaults are the MultiAPI-Spoof recipes (spec recipe-and-metrics.md §1–2)', () => {
    const d = defaultConfig('detect');
    expect(d).toMatchObject({ batch: 48, crop: 64600, seed: 1234, classWeights: [0.1, 0.9], patience: 10, freeze: 'none' });
    expect(d.optimizer).toMatchObject({ kind: 'adam', lr: 5e-6, weightDecay: 1e-4, betas: [0.9, 0.999], eps: 1e-8 });
    expect(d.schedule.kind).toBe('constant');
    const t = defaultConfig('trace');
    expect(t).toMatchObject({ batch: 128, classWeights: null });
    expect(t.optimizer.lr).toBe(1e-5);
  });

  it('--set parses dotted keys and JSON values; unknown keys and wrong types are refused by name', () => {
    expect(parseSet('optimizer.lr=1e-4')).toEqual({ optimizer: { lr: 1e-4 } });
    expect(parseSet('freeze=feature-encoder')).toEqual({ freeze: 'feature-encoder' });
    expect(parseSet('classWeights=[0.5,0.5]')).toEqual({ classWeights: [0.5, 0.5] });
    const c = mergeConfig(withLists('detect'), parseSet('optimizer.lr=1e-4'), '--set');
    expect(c.optimizer.lr).toBe(1e-4);
    expect(c.optimizer.weightDecay).toBe(1e-4);
    expect(() => mergeConfig(c, parseSet('optimizer.lrr=1'), '--set x')).toThrow(/--set x: unknown setting "optimizer.lrr"/);
    expect(() => mergeConfig(c, parseSet('batch=big'), '--set y')).toThrow(/"batch" must be a number, not "big"/);
    expect(() => parseSet('batch')).toThrow(ConfigError);
  });

  it('validation names the setting and the allowed range', () => {
    expect(() => validateConfig(mergeConfig(withLists('detect'), { batch: 0 }, 't'))).toThrow(/batch must be an integer from 1/);
    expect(() => validateConfig(mergeConfig(withLists('detect'), { optimizer: { lr: -1 } }, 't'))).toThrow(/optimizer\.lr must be a number in \(0/);
    expect(() => validateConfig(mergeConfig(withLists('detect'), { freeze: 'some' }, 't'))).toThrow(/freeze must be one of none, feature-encoder, all/);
    expect(() => validateConfig(mergeConfig(defaultConfig('detect'), { data: { train: 't' } }, 't'))).toThrow(/dev list is required/);
    expect(validateConfig(withLists('trace')).task).toBe('trace');
  });

  it('schedules: constant, linear warm-up, cosine to minLr', () => {
    const s = { kind: 'cosine' as const, warmupSteps: 10, minLr: 0 };
    expect(learningRate(1, { kind: 'constant', warmupSteps: 0, minLr: 0 }, 5, 100)).toBe(1);
    expect(learningRate(1, s, 0, 110)).toBeCloseTo(0.1);
    expect(learningRate(1, s, 9, 110)).toBeCloseTo(1);
    expect(learningRate(1, s, 60, 110)).toBeCloseTo(0.5);
    expect(learningRate(1, s, 110, 110)).toBeCloseTo(0);
  });
});
