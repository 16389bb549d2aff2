/**
 * A restricted unpickler: it interprets the pickle opcodes PyTorch checkpoints use (protocols 2–5)
 * but never calls anything. GLOBAL / STACK_GLOBAL resolve only names on an allow-list modelled on
 * torch.load(weights_only=True); anything else (os.system, builtins.eval, …) stops the load with an
 * error naming the global and the file. REDUCE / NEWOBJ / BUILD apply only the known constructors,
 * as data transformations. Work and memory are bounded (opcode count, memo size, nesting).
 */
import { WeftError } from '../errors.ts';

export class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get full(): string { return `${this.module}.${this.name}`; }
}
/** A persistent id, e.g. ('storage', torch.FloatStorage, '0', 'cpu', 1024) for a torch storage. */
export class PersistentRef { constructor(readonly pid: unknown) {} }
/** The result of an allowed constructor applied to arguments, kept as data for the caller to read. */
export class Reduced { constructor(readonly fn: string, readonly args: unknown[], public state?: unknown) {} }

export const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict', 'builtins.set', 'builtins.frozenset', 'builtins.dict', 'builtins.list', 'builtins.tuple',
  'builtins.bytearray', 'builtins.complex', 'builtins.slice', 'builtins.range', '_codecs.encode',
  'torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor_v3', 'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state', 'torch._utils._rebuild_qtensor', 'torch._tensor._rebuild_from_type_v2',
  'torch.Size', 'torch.device', 'torch.nn.parameter.Parameter', 'torch.storage.UntypedStorage', 'torch.serialization._get_layout',
  'torch.FloatStorage', 'torch.HalfStorage', 'torch.BFloat16Storage', 'torch.DoubleStorage', 'torch.LongStorage', 'torch.IntStorage',
  'torch.ShortStorage', 'torch.CharStorage', 'torch.ByteStorage', 'torch.BoolStorage', 'torch.Float8_e4m3fnStorage', 'torch.Float8_e5m2Storage',
  'torch.float32', 'torch.float16', 'torch.bfloat16', 'torch.float64', 'torch.int64', 'torch.int32', 'torch.int16', 'torch.int8', 'torch.uint8', 'torch.bool',
  'torch.strided', 'torch.contiguous_format', 'torch.per_tensor_affine',
  'numpy.core.multiarray._reconstruct', 'numpy.dtype', 'numpy.ndarray', 'numpy._core.multiarray._reconstruct',
]);

export interface UnpickleOptions {
  /** For error messages. */
  file: string;
  maxOps?: number;
  maxMemo?: number;
  maxDepth?: number;
}

const MARK = Symbol('mark');

export function unpickle(data: Uint8Array, opts: UnpickleOptions): unknown {
  const { file } = opts;
  const maxOps = opts.maxOps ?? 50_000_000;
  const maxMemo = opts.maxMemo ?? 10_000_000;
  const maxDepth = opts.maxDepth ?? 100_000;
  const fail = (msg: string): never => { throw new WeftError(`${file}: ${msg}`, { file, type: 'invalid_model_file' }); };
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const need = (n: number): void => { if (pos + n > buf.length) fail(`pickle ends early at byte ${pos} (truncated or corrupt)`); };
  const u8 = (): number => { need(1); return buf[pos++]!; };
  const u16 = (): number => { need(2); const v = buf.readUInt16LE(pos); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = buf.readUInt32LE(pos); pos += 4; return v; };
  const i32 = (): number => { need(4); const v = buf.readInt32LE(pos); pos += 4; return v; };
  const u64 = (): number => { need(8); const v = buf.readBigUInt64LE(pos); pos += 8; if (v > BigInt(buf.length)) fail(`length ${v} exceeds the pickle`); return Number(v); };
  const bytes = (n: number): Buffer => { need(n); const b = buf.subarray(pos, pos + n); pos += n; return b; };
  const line = (): string => { const e = buf.indexOf(0x0a, pos); if (e < 0) fail(`unterminated text line at byte ${pos} (truncated or corrupt)`); const s = buf.toString('utf8', pos, e); pos = e + 1; return s; };
  const pop = (): unknown => { if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1]!)) fail(`stack underflow at byte ${pos}`); return stack.pop(); };
  const popMark = (): unknown[] => { const m = marks.pop(); if (m === undefined) fail(`MARK missing at byte ${pos}`); return stack.splice(m as number); };
  const top = (): unknown => { if (stack.length === 0) fail(`empty stack at byte ${pos}`); return stack[stack.length - 1]; };
  const push = (v: unknown): void => { if (stack.length > maxDepth) fail('pickle nests too deeply'); stack.push(v); };
  const global = (module: string, name: string): PickleGlobal => {
    const full = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(full)) {
      throw new WeftError(`${file}: refusing to load: the pickle references "${full}", which is not allowed in a weights file (it could run code). Only tensors and plain containers are accepted.`, { file, type: 'unsafe_model_file', details: full });
    }
    return new PickleGlobal(module, name);
  };
  const setItem = (d: unknown, k: unknown, v: unknown): void => {
    if (d instanceof Map) d.set(k, v);
    else if (d instanceof Reduced && d.fn === 'collections.OrderedDict') ((d.state ??= new Map()) as Map<unknown, unknown>).set(k, v);
    else fail(`SETITEM on a ${typeof d}`);
  };
  const apply = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PickleGlobal)) fail('REDUCE on something that is not an allowed global');
    const a = Array.isArray(args) ? args : [];
    const g = (fn as PickleGlobal).full;
    if (g === 'collections.OrderedDict' || g === 'builtins.dict') return new Map();
    if (g === 'builtins.set' || g === 'builtins.frozenset') return new Set(Array.isArray(a[0]) ? a[0] : []);
    if (g === 'builtins.list' || g === 'builtins.tuple') return Array.isArray(a[0]) ? [...a[0]] : [];
    if (g === 'torch.Size') return Array.isArray(a[0]) ? [...a[0]] : [];
    if (g === '_codecs.encode') return typeof a[0] === 'string' ? Buffer.from(a[0], 'latin1') : a[0];
    return new Reduced(g, a);
  };
  let ops = 0;
  for (;;) {
    if (++ops > maxOps) fail('pickle has too many operations');
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME (length is advisory)
      case 0x2e: { // STOP
        if (stack.length !== 1) fail(`pickle ended with ${stack.length} values on the stack`);
        return stack[0];
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x29: push([]); break; // EMPTY_TUPLE
      case 0x8f: push(new Set()); break; // EMPTY_SET
      case 0x74: push(popMark()); break; // TUPLE
      case 0x85: push([pop()]); break;
      case 0x86: { const b = pop(); const a = pop(); push([a, b]); break; }
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push([a, b, c]); break; }
      case 0x6c: push(popMark()); break; // LIST
      case 0x64: { const items = popMark(); const m = new Map(); for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i], items[i + 1]); push(m); break; } // DICT
      case 0x91: push(new Set(popMark())); break; // FROZENSET
      case 0x90: { const items = popMark(); const s = top(); if (!(s instanceof Set)) fail('ADDITEMS on a non-set'); for (const x of items) (s as Set<unknown>).add(x); break; }
      case 0x4e: push(null); break;
      case 0x88: push(true); break;
      case 0x89: push(false); break;
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x49: { const s = line(); push(s === '01' ? true : s === '00' ? false : Number.parseInt(s, 10)); break; } // INT
      case 0x8a: case 0x8b: { // LONG1 / LONG4
        const n = op === 0x8a ? u8() : u32();
        if (n > 64) fail('integer too large');
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: { need(8); push(buf.readDoubleBE(pos)); pos += 8; break; } // BINFLOAT
      case 0x58: push(bytes(u32()).toString('utf8')); break; // BINUNICODE
      case 0x8c: push(bytes(u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x8d: push(bytes(u64()).toString('utf8')); break; // BINUNICODE8
      case 0x54: push(bytes(u32()).toString('latin1')); break; // BINSTRING
      case 0x55: push(bytes(u8()).toString('latin1')); break; // SHORT_BINSTRING
      case 0x42: push(Buffer.from(bytes(u32()))); break; // BINBYTES
      case 0x43: push(Buffer.from(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: push(Buffer.from(bytes(u64()))); break; // BINBYTES8 / BYTEARRAY8
      case 0x71: memoPut(u8()); break; // BINPUT
      case 0x72: memoPut(u32()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x68: memoGet(u8()); break; // BINGET
      case 0x6a: memoGet(u32()); break; // LONG_BINGET
      case 0x63: { const m = line(); const n = line(); push(global(m, n)); break; } // GLOBAL
      case 0x93: { const n = pop(); const m = pop(); if (typeof m !== 'string' || typeof n !== 'string') fail('STACK_GLOBAL needs two strings'); push(global(m as string, n as string)); break; }
      case 0x52: { const args = pop(); const fn = pop(); push(apply(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); push(apply(cls, args)); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof Reduced) obj.state = state;
        else if (!(obj instanceof Map)) fail('BUILD on an unsupported object');
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItem(top(), k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); const d = top(); for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]); break; }
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) fail('APPEND on a non-list'); (l as unknown[]).push(v); break; }
      case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l)) fail('APPENDS on a non-list'); for (const x of items) (l as unknown[]).push(x); break; }
      case 0x51: push(new PersistentRef(pop())); break; // BINPERSID
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      default: fail(`unsupported pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
  function memoPut(i: number): void {
    if (memo.size >= maxMemo) fail('pickle memo too large');
    memo.set(i, top());
  }
  function memoGet(i: number): void {
    if (!memo.has(i)) fail(`pickle refers to memo ${i}, never stored`);
    push(memo.get(i));
  }
}
