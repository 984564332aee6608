// A pickle interpreter that executes nothing. Python's unpickler calls whatever global a pickle names
// (os.system, builtins.eval, …); this one only builds data. A GLOBAL becomes a PyGlobal reference; calling it
// (REDUCE / NEWOBJ) runs a JS reducer only for an allowlisted name, and otherwise yields an inert PyObject
// that records the module, name, arguments and BUILD state, so argparse.Namespace, omegaconf and fairseq
// objects can still be read as data. Supports the opcodes of protocols 2–5 that torch.save and fairseq emit.
import { CheckpointError } from './errors.ts';

/** A reference to a Python global (class or function), never resolved to code. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object of a class outside the allowlist: its constructor arguments and state, as data. */
export class PyObject {
  /** BUILD state (for plain classes the instance __dict__, usually a Map). */
  state: unknown = undefined;
  /** Items added by SETITEM(S) (dict subclasses) and APPEND(S) (list subclasses). */
  dictItems: Map<unknown, unknown> | undefined;
  listItems: unknown[] | undefined;
  constructor(
    readonly callee: PyGlobal | null,
    readonly args: unknown[],
    readonly kwargs: Map<unknown, unknown> | null = null,
  ) {}
  get className(): string {
    return this.callee ? this.callee.qualifiedName : '<call>';
  }
}

/** Python bytes. */
export type PyBytes = Uint8Array;

/** A safe JS implementation of one allowlisted Python callable. */
export type Reducer = (args: unknown[]) => unknown;

export interface UnpickleOptions {
  /** For messages: file and entry names. */
  file: string;
  entry?: string;
  /** Extra allowlisted callables, keyed by "module.name". */
  reducers?: Record<string, Reducer>;
  /** BINPERSID handler (torch storages). */
  persistentLoad?(pid: unknown): unknown;
}

/** Python ints beyond 2^53 become bigint; anything longer than this many bytes is refused. */
const MAX_LONG_BYTES = 4096;

/** Bounds on one pickle (a fairseq checkpoint's is a few hundred thousand opcodes): a hostile stream of
 *  millions of MARK / DUP / EMPTY_LIST opcodes is refused before it exhausts memory. */
export const PICKLE_LIMITS = { opcodes: 20_000_000, stack: 1_000_000, marks: 100_000, memo: 5_000_000 } as const;

const isPairs = (a: unknown): a is [unknown, unknown][] => Array.isArray(a) && a.every((kv) => Array.isArray(kv) && kv.length === 2);

const BUILTINS: Record<string, Reducer> = {
  // OrderedDict(), OrderedDict(list of pairs) or OrderedDict(mapping); anything else stays an inert record.
  'collections.OrderedDict': (args) => {
    const a = args[0];
    if (a === undefined) return new Map();
    if (a instanceof Map) return new Map(a);
    if (isPairs(a)) return new Map(a);
    return new PyObject(new PyGlobal('collections', 'OrderedDict'), args);
  },
  'builtins.set': (args) => new Set(Array.isArray(args[0]) ? args[0] : []),
  'builtins.frozenset': (args) => new Set(Array.isArray(args[0]) ? args[0] : []),
  'builtins.list': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
  'builtins.tuple': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
  // dict(), dict(mapping) or dict(list of pairs); anything else stays an inert record rather than losing data.
  'builtins.dict': (args) => {
    const a = args[0];
    if (a === undefined) return new Map();
    if (a instanceof Map) return new Map(a);
    if (isPairs(a)) return new Map(a);
    return new PyObject(new PyGlobal('builtins', 'dict'), args);
  },
  // Protocol 2 writes Python bytes as _codecs.encode(latin-1 text, 'latin1').
  '_codecs.encode': (args) => {
    if (typeof args[0] !== 'string' || (args[1] !== 'latin1' && args[1] !== 'latin-1')) return new PyObject(new PyGlobal('_codecs', 'encode'), args);
    return Uint8Array.from(args[0] as string, (ch) => ch.charCodeAt(0) & 0xff);
  },
};
for (const k of Object.keys(BUILTINS)) if (k.startsWith('builtins.')) BUILTINS[`__builtin__${k.slice(8)}`] = BUILTINS[k];

const MARK = Symbol('mark');

export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const where = opts.entry ? `${opts.entry}` : 'pickle';
  let pos = 0;
  const fail = (problem: string, at = pos): never => {
    throw new CheckpointError(opts.file, `corrupt or unsupported checkpoint: ${problem} at byte ${at} of ${where}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > bytes.length) fail(`unexpected end of data (needs ${n} more bytes)`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length out of range');
    return Number(v);
  };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const text = (n: number): string => {
    const at = need(n);
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      return fail('invalid UTF-8 string', at);
    }
  };
  const latin1 = (n: number): string => {
    const at = need(n);
    let s = '';
    for (let i = at; i < at + n; i++) s += String.fromCharCode(bytes[i]);
    return s;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated GLOBAL name');
    return latin1(end - pos + 1).slice(0, -1);
  };
  const long = (n: number): number | bigint => {
    if (n > MAX_LONG_BYTES) fail(`integer of ${n} bytes is too large`);
    const at = need(n);
    if (n === 0) return 0;
    let hex = '';
    for (let i = at + n - 1; i >= at; i--) hex += bytes[i].toString(16).padStart(2, '0');
    let v = BigInt('0x' + hex);
    if (bytes[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) return fail('MARK missing');
    return stack.splice(m);
  };
  const setItems = (target: unknown, kv: unknown[], op: string) => {
    const map = target instanceof Map ? target : target instanceof PyObject ? (target.dictItems ??= new Map()) : null;
    if (!map) return fail(`${op} on a ${describe(target)}`);
    for (let i = 0; i + 1 < kv.length; i += 2) map.set(kv[i], kv[i + 1]);
  };
  const append = (target: unknown, items: unknown[], op: string) => {
    const list = Array.isArray(target) ? target : target instanceof PyObject ? (target.listItems ??= []) : null;
    if (!list) return fail(`${op} on a ${describe(target)}`);
    for (const it of items) list.push(it);
  };
  const addItems = (target: unknown, items: unknown[]) => {
    if (target instanceof Set) for (const it of items) target.add(it);
    else if (target instanceof PyObject) for (const it of items) (target.listItems ??= []).push(it);
    else fail(`ADDITEMS on a ${describe(target)}`);
  };
  const call = (callee: unknown, args: unknown, kwargs: Map<unknown, unknown> | null): unknown => {
    if (!Array.isArray(args)) return fail(`call arguments are a ${describe(args)}, not a tuple`);
    if (callee instanceof PyGlobal && !kwargs) {
      const r = opts.reducers?.[callee.qualifiedName] ?? BUILTINS[callee.qualifiedName];
      if (r) return r(args);
    }
    return new PyObject(callee instanceof PyGlobal ? callee : null, args, kwargs);
  };

  let ops = 0;
  for (;;) {
    const at = pos;
    const op = u8();
    if (++ops > PICKLE_LIMITS.opcodes) fail(`more than ${PICKLE_LIMITS.opcodes} opcodes (a pickle bomb?)`, at);
    if (stack.length > PICKLE_LIMITS.stack) fail(`stack deeper than ${PICKLE_LIMITS.stack} values (a pickle bomb?)`, at);
    if (marks.length > PICKLE_LIMITS.marks) fail(`more than ${PICKLE_LIMITS.marks} nested MARKs (a pickle bomb?)`, at);
    if (memo.size > PICKLE_LIMITS.memo) fail(`memo larger than ${PICKLE_LIMITS.memo} entries (a pickle bomb?)`, at);
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME: framing only, the data follows inline
      case 0x2e: // STOP
        return pop();
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(long(u8())); break; // LONG1
      case 0x8b: stack.push(long(u32())); break; // LONG4
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(u64())); break; // BINUNICODE8
      case 0x54: stack.push(latin1(u32())); break; // BINSTRING (Python 2 str)
      case 0x55: stack.push(latin1(u8())); break; // SHORT_BINSTRING
      case 0x42: { const n = u32(); const s = need(n); stack.push(bytes.slice(s, s + n)); break; } // BINBYTES
      case 0x43: { const n = u8(); const s = need(n); stack.push(bytes.slice(s, s + n)); break; } // SHORT_BINBYTES
      case 0x8e: case 0x96: { const n = u64(); const s = need(n); stack.push(bytes.slice(s, s + n)); break; } // BINBYTES8, BYTEARRAY8
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x64: { const kv = popMark(); const m = new Map(); setItems(m, kv, 'DICT'); stack.push(m); break; } // DICT
      case 0x6c: case 0x74: stack.push(popMark()); break; // LIST, TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v], 'SETITEM'); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv, 'SETITEMS'); break; } // SETITEMS
      case 0x61: { const v = pop(); append(top(), [v], 'APPEND'); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items, 'APPENDS'); break; } // APPENDS
      case 0x90: { const items = popMark(); addItems(top(), items); break; } // ADDITEMS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} was never stored`, at);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: { const mod = line(); stack.push(new PyGlobal(mod, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(), mod = pop();
        if (typeof mod !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings', at);
        stack.push(new PyGlobal(mod as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); const f = pop(); stack.push(call(f, args, null)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args, null)); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kw = pop(), args = pop(), cls = pop();
        stack.push(call(cls, args, kw instanceof Map && kw.size ? kw : null));
        break;
      }
      case 0x62: { // BUILD: record state on placeholders; containers and tensors ignore it (e.g. _metadata)
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent id without a storage loader', at);
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      default:
        fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`, at);
    }
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof Map) return 'dict';
  if (Array.isArray(v)) return 'list/tuple';
  if (v instanceof PyObject) return `${v.className} object`;
  if (v instanceof PyGlobal) return `global ${v.qualifiedName}`;
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}

/** The value of key `k` in a pickled dict, a Namespace-like placeholder's state, or an omegaconf node. */
export function pyGet(obj: unknown, k: string): unknown {
  const o = unwrap(obj);
  if (o instanceof Map) return unwrap(o.get(k));
  return undefined;
}

/** Unwraps placeholders whose data sits in their state: argparse.Namespace and omegaconf containers/nodes. */
export function unwrap(v: unknown): unknown {
  for (let depth = 0; depth < 64 && v instanceof PyObject; depth++) {
    const st = v.state;
    if (v.callee?.module.startsWith('omegaconf') && st instanceof Map) {
      if (st.has('_content')) v = st.get('_content');
      else if (st.has('_val')) v = st.get('_val');
      else return v;
    } else if (st instanceof Map && v.dictItems === undefined && v.listItems === undefined) {
      return st; // a plain class instance: its __dict__
    } else return v;
  }
  return v;
}

/** Plain JSON-like data (objects, arrays, numbers, strings) from pickled values, for configs and reports.
 *  Placeholders with state become their state; others become {"__class__": name, "args": [...]}. Cycles, very
 *  deep nesting and output beyond `maxNodes` values are cut off ('[…]'): a hostile pickle can share one list
 *  many times over (memo references), which unfolds into exponentially many values. */
export function toPlain(v: unknown, maxNodes = 100_000): unknown {
  let left = maxNodes; // every value visited counts, so shared containers cannot multiply the work either
  const seen = new Set<unknown>();
  const go = (v: unknown, depth: number): unknown => {
    if (--left < 0) return '[…]';
    v = unwrap(v);
    if (v === null || v === undefined || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v ?? null;
    if (typeof v === 'bigint') return v.toString();
    if (depth > 64 || seen.has(v)) return '[…]';
    seen.add(v);
    try {
      if (v instanceof Map) {
        const o: Record<string, unknown> = {};
        for (const [k, x] of v) {
          if (left < 0) break;
          Object.defineProperty(o, String(k), { value: go(x, depth + 1), enumerable: true, writable: true, configurable: true });
        }
        return o;
      }
      if (Array.isArray(v) || v instanceof Set) {
        const out: unknown[] = [];
        for (const x of v) {
          if (left < 0) {
            out.push('[…]');
            break;
          }
          out.push(go(x, depth + 1));
        }
        return out;
      }
      if (v instanceof Uint8Array) return `<${v.length} bytes>`;
      if (v instanceof PyGlobal) return `<${v.qualifiedName}>`;
      if (v instanceof PyObject) return { __class__: v.className, args: go(v.args, depth + 1) };
      return String(v);
    } finally {
      seen.delete(v);
    }
  };
  return go(v, 0);
}
