// Element types of stored tensors and the engine-independent tensor record every reader returns (HostTensor,
// HostDType: host-side records, named apart from the engine's GPU Tensor and DType).
// Storage is little-endian; half-precision values are kept as raw 16-bit patterns (Uint16Array) because
// Float16Array is not in every runtime.

export type HostDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export type TensorData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** A tensor as read from a weight file: C-order (row-major), contiguous. */
export interface HostTensor {
  name: string;
  dtype: HostDType;
  shape: number[];
  data: TensorData;
}

export const DTYPE_SIZE: Readonly<Record<HostDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export const DTYPES = Object.keys(DTYPE_SIZE) as HostDType[];

export function isDType(s: unknown): s is HostDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, s);
}

export function isFloatDType(d: HostDType): boolean {
  return d === 'F64' || d === 'F32' || d === 'F16' || d === 'BF16';
}

/** Element count of a shape, or null when a dimension is not a non-negative safe integer or the product
 *  exceeds 2^53 (a corrupt or hostile file; callers turn null into a clear error). */
export function numel(shape: readonly unknown[]): number | null {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return null;
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/** A typed-array view of little-endian bytes. Copies when the bytes are not aligned to the element size. */
export function viewAs(dtype: HostDType, bytes: Uint8Array): TensorData {
  const size = DTYPE_SIZE[dtype];
  if (bytes.byteLength % size !== 0) throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype}`);
  const b = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const n = b.byteLength / size;
  switch (dtype) {
    case 'F64': return new Float64Array(b.buffer, b.byteOffset, n);
    case 'F32': return new Float32Array(b.buffer, b.byteOffset, n);
    case 'F16': case 'BF16': return new Uint16Array(b.buffer, b.byteOffset, n);
    case 'I64': return new BigInt64Array(b.buffer, b.byteOffset, n);
    case 'I32': return new Int32Array(b.buffer, b.byteOffset, n);
    case 'I16': return new Int16Array(b.buffer, b.byteOffset, n);
    case 'I8': return new Int8Array(b.buffer, b.byteOffset, n);
    case 'U8': case 'BOOL': return b;
  }
}

export function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Reverses the byte order of every element in place (PyTorch files written on big-endian machines). */
export function swapBytes(bytes: Uint8Array, elementSize: number): void {
  for (let i = 0; i + elementSize <= bytes.length; i += elementSize) {
    for (let a = i, b = i + elementSize - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

// ---- half precision ----

/** IEEE binary16 bit patterns → float32 (exact). */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = (h & 0x8000) << 16;
    const e = (h >>> 10) & 0x1f;
    let m = h & 0x3ff;
    if (e === 0x1f) o[i] = sign | 0x7f800000 | (m << 13);
    else if (e !== 0) o[i] = sign | ((e + 112) << 23) | (m << 13);
    else if (m === 0) o[i] = sign;
    else {
      // subnormal: shift the mantissa up until its leading one becomes the implicit bit
      let exp = 113;
      while ((m & 0x400) === 0) {
        m <<= 1;
        exp--;
      }
      o[i] = sign | (exp << 23) | ((m & 0x3ff) << 13);
    }
  }
  return out;
}

/** float32 → IEEE binary16 bit patterns, round to nearest even; overflow → ±inf; NaN stays NaN. */
export function f32ToF16(values: Float32Array): Uint16Array {
  const x = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < x.length; i++) {
    const b = x[i];
    const sign = (b >>> 16) & 0x8000;
    const exp = (b >>> 23) & 0xff;
    let mant = b & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
      continue;
    }
    const e = exp - 112;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && h & 1)) h++;
      out[i] = sign | h;
    } else {
      let h = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is still correct
      out[i] = sign | h;
    }
  }
  return out;
}

/** bfloat16 bit patterns → float32 (exact: the 16 bits are the high half of a float32). */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) o[i] = bits[i] << 16;
  return out;
}

/** float32 → bfloat16 bit patterns, round to nearest even; NaN stays NaN. */
export function f32ToBf16(values: Float32Array): Uint16Array {
  const x = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < x.length; i++) {
    const b = x[i];
    if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) out[i] = (b >>> 16) | 0x40;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** Any stored tensor's values as float32 (F64 rounds; integers convert exactly up to 2^24). */
export function toFloat32(t: Pick<HostTensor, 'dtype' | 'data'>): Float32Array {
  switch (t.dtype) {
    case 'F32': return t.data as Float32Array;
    case 'F16': return f16ToF32(t.data as Uint16Array);
    case 'BF16': return bf16ToF32(t.data as Uint16Array);
    case 'I64': return Float32Array.from(t.data as BigInt64Array, (v) => Number(v));
    default: return Float32Array.from(t.data as Exclude<TensorData, BigInt64Array>);
  }
}

/** Converts a floating tensor to F32 or F16 storage; other dtypes are returned unchanged. */
export function castFloat(t: HostTensor, to: 'F32' | 'F16'): HostTensor {
  if (!isFloatDType(t.dtype) || t.dtype === to) return t;
  const f32 = toFloat32(t);
  return { ...t, dtype: to, data: to === 'F32' ? f32 : f32ToF16(f32) };
}
