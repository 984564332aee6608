// What a model needs from an adapter: the page names the limit that is too small before uploading weights.
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../models/config.ts';
import { NES2NET_LA, NES2NET_TINY_A } from '../../models/nes2net/config.ts';
import { XLSR_300M, XLSR_TINY } from '../../models/xlsr/config.ts';
import { fittingBatch, largestBuffers, limitProblems } from '../../models/requirements.ts';

const TINY: ModelConfig = { arch: 'xlsr-nes2net', xlsr: XLSR_TINY, nes2net: NES2NET_TINY_A };
const FULL: ModelConfig = { arch: 'xlsr-nes2net', xlsr: XLSR_300M, nes2net: NES2NET_LA };
const DEFAULTS = { maxStorageBufferBindingSize: 134_217_728, maxBufferSize: 268_435_456 };

describe('model requirements', () => {
  it('the largest buffer: the positional conv weight for one window, the first conv block output for a batch', () => {
    const [one] = largestBuffers(FULL, 64600, 1);
    expect(one).toEqual({ bytes: 4 * 1024 * 64 * 128, what: 'the weight xlsr.pos_conv.weight_v [1024, 64, 128]' });
    const [two] = largestBuffers(FULL, 64600, 2);
    expect(two.bytes).toBe(4 * 2 * 512 * 12919);
    expect(two.what).toMatch(/first conv block/);
    expect(limitProblems(TINY, DEFAULTS, 64600)).toEqual([]);
    expect(limitProblems(FULL, DEFAULTS, 64600)).toEqual([]);
  });

  it('names the limit that is too small, and picks a batch that fits', () => {
    const small = { maxStorageBufferBindingSize: 16 << 20, maxBufferSize: 256 << 20 };
    const p = limitProblems(FULL, small, 64600);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/maxStorageBufferBindingSize is 16,777,216 bytes, but this model needs 33,554,432 bytes in one buffer for the weight xlsr.pos_conv.weight_v/);
    expect(fittingBatch(FULL, DEFAULTS, 64600)).toBe(Math.floor(134_217_728 / (4 * 512 * 12919)));
    expect(fittingBatch(TINY, DEFAULTS, 64600)).toBe(8);
  });
});
