import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AudioError } from '../../train/data/errors.ts';
import { encodeWav, parseWav, readWavInfo } from '../../train/data/wav.ts';
import { buildWav, type WavSpec } from './helpers.ts';

const ramp = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

function spec(over: Partial<WavSpec>): WavSpec {
  return { formatTag: 1, bits: 16, channels: 1, rate: 16000, samples: [[0, 1, -1, 32767, -32768]], ...over };
}

function errorOf(bytes: Uint8Array): string {
  try {
    parseWav(bytes, 'x.wav');
  } catch (e) {
    expect(e).toBeInstanceOf(AudioError);
    expect((e as Error).message.startsWith('x.wav: ')).toBe(true);
    return (e as AudioError).reason;
  }
  throw new Error('expected an AudioError');
}

describe('WAV decoding: integer scaling (spec data.md §1)', () => {
  it('u8: (x − 128) / 128', () => {
    const w = parseWav(buildWav(spec({ bits: 8, samples: [[0, 128, 255, 64]] })));
    expect(Array.from(w.channelData[0])).toEqual([-1, 0, 127 / 128, -0.5]);
  });
  it('s16: x / 32768', () => {
    const w = parseWav(buildWav(spec({})));
    expect(Array.from(w.channelData[0])).toEqual([0, 1 / 32768, -1 / 32768, 32767 / 32768, -1]);
  });
  it('s24: x / 2^23, sign-extended', () => {
    const v = [0, 1, -1, 8388607, -8388608, -4194304];
    const w = parseWav(buildWav(spec({ bits: 24, samples: [v] })));
    expect(Array.from(w.channelData[0])).toEqual(v.map((x) => Math.fround(x / 8388608)));
  });
  it('s32: x / 2^31', () => {
    const v = [0, 65536, -65536, 2147483647, -2147483648];
    const w = parseWav(buildWav(spec({ bits: 32, samples: [v] })));
    expect(Array.from(w.channelData[0])).toEqual(v.map((x) => Math.fround(x / 2147483648)));
  });
  it('float32 and float64 as stored (values outside [-1, 1] kept)', () => {
    const v = [0, 0.25, -0.5, 1.5, -2, 1e-8];
    expect(Array.from(parseWav(buildWav(spec({ formatTag: 3, bits: 32, samples: [v] }))).channelData[0])).toEqual(v.map(Math.fround));
    expect(Array.from(parseWav(buildWav(spec({ formatTag: 3, bits: 64, samples: [v] }))).channelData[0])).toEqual(v.map(Math.fround));
  });
  it('G.711 µ-law and A-law expand to the standard 16-bit values', () => {
    // µ-law 0xFF and A-law 0xD5 are the zero codes; µ-law 0x00 = −32124, A-law 0xAA = +32256.
    const mu = parseWav(buildWav(spec({ formatTag: 7, bits: 8, samples: [[0xff, 0x00, 0x80]] }))).channelData[0];
    expect(Array.from(mu)).toEqual([0, -32124 / 32768, 32124 / 32768]);
    const a = parseWav(buildWav(spec({ formatTag: 6, bits: 8, samples: [[0xd5, 0xaa, 0x2a]] }))).channelData[0];
    expect(Array.from(a)).toEqual([8 / 32768, 32256 / 32768, -32256 / 32768]);
  });
});

describe('WAV decoding: layout', () => {
  it('de-interleaves any channel count', () => {
    const chans = [1, 2, 3, 6, 8].map((c) => c);
    for (const c of chans) {
      const samples = ramp(c, (ch) => ramp(7, (i) => ch * 100 + i));
      const w = parseWav(buildWav(spec({ channels: c, samples })));
      expect(w.channels).toBe(c);
      expect(w.frames).toBe(7);
      for (let ch = 0; ch < c; ch++) expect(Array.from(w.channelData[ch])).toEqual(samples[ch].map((v) => v / 32768));
    }
  });
  it('WAVE_FORMAT_EXTENSIBLE with PCM and float sub-formats', () => {
    const s = [ramp(5, (i) => i * 1000), ramp(5, (i) => -i * 1000 - 7)];
    const w = parseWav(buildWav(spec({ extensible: true, channels: 2, bits: 24, validBits: 20, samples: s })));
    expect(w.extensible).toBe(true);
    expect(w.formatTag).toBe(1);
    expect(w.validBits).toBe(20);
    expect(Array.from(w.channelData[1])).toEqual(s[1].map((v) => Math.fround(v / 8388608)));
    const f = parseWav(buildWav(spec({ extensible: true, formatTag: 3, bits: 32, samples: [[0.5, -0.25]] })));
    expect(Array.from(f.channelData[0])).toEqual([0.5, -0.25]);
    expect(errorOf(buildWav(spec({ extensible: true, formatTag: 2, samples: [[1]] })))).toMatch(/unsupported format tag 0x0002 \(EXTENSIBLE/);
  });
  it('skips unknown chunks and honours odd-size padding', () => {
    const odd = new Uint8Array([1, 2, 3]); // 3 bytes + 1 pad byte
    const w = parseWav(
      buildWav(
        spec({
          before: [{ id: 'JUNK', body: odd }],
          between: [{ id: 'LIST', body: new Uint8Array(5) }, { id: 'fact', body: new Uint8Array(4) }],
          after: [{ id: 'id3 ', body: new Uint8Array(7) }],
        }),
      ),
    );
    expect(Array.from(w.channelData[0])).toEqual([0, 1 / 32768, -1 / 32768, 32767 / 32768, -1]);
  });
  it('an odd-length 8-bit data chunk followed by another chunk (pad byte honoured)', () => {
    const w = parseWav(buildWav(spec({ bits: 8, samples: [[0, 255, 128]], after: [{ id: 'cue ', body: new Uint8Array(4) }] })));
    expect(w.frames).toBe(3);
  });
  it('ignores a trailing partial frame and a wrong (larger) block align', () => {
    const b = buildWav(spec({ channels: 2, samples: [[1, 2], [3, 4]], dataSizeOverride: 7 }));
    expect(parseWav(b).frames).toBe(1);
    expect(parseWav(buildWav(spec({ blockAlignOverride: 4 }))).frames).toBe(5);
  });
  it('a streamed file (data size 0xFFFFFFFF, size never filled in) reads to the end of the file', () => {
    const w = parseWav(buildWav(spec({ channels: 2, samples: [[1, 2, 3], [4, 5, 6]], dataSizeOverride: 0xffffffff })));
    expect(w.frames).toBe(3);
    expect(Array.from(w.channelData[1], (v) => v * 32768)).toEqual([4, 5, 6]);
  });
  it('readWavInfo gives header facts', () => {
    const i = readWavInfo(buildWav(spec({ rate: 44100, channels: 2, samples: [[1, 2, 3], [4, 5, 6]] })));
    expect(i).toMatchObject({ container: 'RIFF', sampleRate: 44100, channels: 2, frames: 3, bitsPerSample: 16 });
  });
});

describe('WAV errors name the file and the problem', () => {
  it.each([
    ['truncated data chunk', buildWav(spec({ dataSizeOverride: 1000 })), /truncated data chunk: header says 1000 bytes, file holds 10/],
    ['unsupported format tag', buildWav(spec({ formatTag: 0x55 })), /unsupported format tag 0x0055/],
    ['unsupported bit depth', buildWav(spec({ bits: 12, samples: [[]] })), /unsupported bit depth 12 for PCM/],
    ['float16', buildWav(spec({ formatTag: 3, bits: 16, samples: [[]] })), /unsupported bit depth 16 for IEEE float/],
    ['zero channels', buildWav(spec({ channels: 0, samples: [] })), /zero channels/],
    ['zero rate', buildWav(spec({ rate: 0 })), /zero sample rate/],
    ['empty audio', buildWav(spec({ samples: [[]] })), /empty audio/],
    ['not RIFF', new TextEncoder().encode('hello world, this is not audio'), /not a WAV file/],
    ['too short', new Uint8Array(5), /shorter than a RIFF header/],
    ['RIFX', new TextEncoder().encode('RIFX\0\0\0\0WAVEfmt '), /RIFX/],
  ])('%s', (_name, bytes, re) => {
    expect(errorOf(bytes as Uint8Array)).toMatch(re as RegExp);
  });
  it('no fmt / no data chunk', () => {
    const onlyRiff = new Uint8Array([...new TextEncoder().encode('RIFF'), 4, 0, 0, 0, ...new TextEncoder().encode('WAVE')]);
    expect(errorOf(onlyRiff)).toMatch(/no fmt chunk/);
    const b = buildWav(spec({}));
    // Rename 'data' to 'dat_': a file with fmt and no data.
    const idx = new TextDecoder('latin1').decode(b).indexOf('data');
    b[idx + 3] = 0x5f;
    expect(errorOf(b)).toMatch(/no data chunk/);
  });
});

describe('WAV writer', () => {
  it('float32 round-trips exactly, pcm16 rounds and clips', () => {
    const x = Float32Array.from([0, 0.5, -0.25, 0.999, -1, 1.5, -3]);
    const f = parseWav(encodeWav(x, 16000, 'float32'));
    expect(f.formatTag).toBe(3);
    expect(Array.from(f.channelData[0])).toEqual(Array.from(x));
    const p = parseWav(encodeWav(x, 8000, 'pcm16'));
    expect(p.sampleRate).toBe(8000);
    expect(Array.from(p.channelData[0])).toEqual([0, 16384, -8192, 32735, -32768, 32767, -32768].map((v) => v / 32768));
  });
  it('writes several channels', () => {
    const w = parseWav(encodeWav([Float32Array.of(1, 0), Float32Array.of(0, -1)], 22050));
    expect(w.channels).toBe(2);
    expect(Array.from(w.channelData[1])).toEqual([0, -1]);
  });
});

describe('WAV parser fuzzing (fast-check)', () => {
  const check = (bytes: Uint8Array) => {
    try {
      const w = parseWav(bytes, 'fuzz.wav');
      expect(w.channels).toBeGreaterThan(0);
      expect(w.sampleRate).toBeGreaterThan(0);
      expect(w.frames).toBeGreaterThan(0);
      expect(w.channelData.length).toBe(w.channels);
      for (const c of w.channelData) expect(c.length).toBe(w.frames);
    } catch (e) {
      if (!(e instanceof AudioError)) throw e;
      expect(e.message).toMatch(/^fuzz\.wav: \S/);
    }
  };
  it('any byte string gives audio or an AudioError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), check), { numRuns: 3000 });
  });
  it('mutated valid files give audio or an AudioError', () => {
    const base = [
      buildWav(spec({ channels: 2, samples: [[1, 2, 3], [4, 5, 6]], between: [{ id: 'LIST', body: new Uint8Array(3) }] })),
      buildWav(spec({ extensible: true, bits: 24, samples: [[1, 2, 3]] })),
      buildWav(spec({ formatTag: 3, bits: 64, samples: [[0.5]] })),
      encodeWav(Float32Array.of(0.1, 0.2, 0.3), 16000),
    ];
    const mutation = fc.record({
      which: fc.nat(base.length - 1),
      edits: fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      cut: fc.nat(120),
    });
    fc.assert(
      fc.property(mutation, ({ which, edits, cut }) => {
        const b = base[which].slice();
        for (const [pos, v] of edits) b[pos % b.length] = v;
        check(b.subarray(0, Math.max(0, b.length - (cut % (b.length + 1)))));
      }),
      { numRuns: 5000 },
    );
  });
});
