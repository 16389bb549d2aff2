/**
 * A forward cursor over a GGUF header read through a small window of positioned reads: the header of a
 * 12 GB model is a few hundred KB, and we never want the file itself in memory. Every read checks that its
 * bytes exist before taking them, and every count is checked against the bytes left in the file (times the
 * smallest possible encoding of one item) before anything is allocated for it, so a hostile count fails
 * with a message instead of an allocation.
 */
import { readSync } from 'node:fs';
import { WeftError } from '../errors.ts';
import { invalidFile as fail, readExactly } from './read.ts';
export { readExactly } from './read.ts';

/** A metadata value: numbers (u64/i64 as bigint), strings, booleans, arrays of those. */
export type GgufValue = number | bigint | string | boolean | GgufValue[];

const WINDOW = 1 << 16;
/** A string longer than this in a header is treated as hostile. */
const MAX_STRING = 64 * 1024 * 1024;
/** Arrays nest at most this deep (ggml writes one level). */
const MAX_DEPTH = 4;
/** Value type id → [name, fixed size in bytes (0: variable)]. */
const VALUE_TYPES: Record<number, [string, number]> = {
  0: ['u8', 1], 1: ['i8', 1], 2: ['u16', 2], 3: ['i16', 2], 4: ['u32', 4], 5: ['i32', 4], 6: ['f32', 4], 7: ['bool', 1],
  8: ['string', 0], 9: ['array', 0], 10: ['u64', 8], 11: ['i64', 8], 12: ['f64', 8],
};

export class GgufCursor {
  pos = 0;
  private win = Buffer.alloc(0);
  private winAt = 0;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly fd: number, private readonly path: string, private readonly size: number) {}

  /** Bytes left after the cursor. */
  get left(): number { return this.size - this.pos; }

  /** `n` bytes at the cursor (a view valid until the next call), advancing past them. */
  take(n: number, what: string): Buffer {
    if (n > this.left) fail(this.path, `file ends while reading ${what} (needs ${n} bytes at ${this.pos}, ${this.left} left; truncated?)`, what);
    const rel = this.pos - this.winAt;
    if (rel < 0 || rel + n > this.win.length) {
      this.win = Buffer.allocUnsafe(Math.min(Math.max(WINDOW, n), this.size - this.pos));
      this.winAt = this.pos;
      readExactly(this.fd, this.win, this.pos, this.path, what);
    }
    const at = this.pos - this.winAt;
    this.pos += n;
    return this.win.subarray(at, at + n);
  }

  u32(what: string): number { return this.take(4, what).readUInt32LE(0); }
  u64(what: string): bigint { return this.take(8, what).readBigUInt64LE(0); }

  /** A u64 item count, rejected when even `minItemBytes` per item cannot fit in the rest of the file. */
  count(what: string, minItemBytes: number): number {
    const n = this.u64(what);
    if (n * BigInt(minItemBytes) > BigInt(this.left)) fail(this.path, `${what} ${n} cannot fit in the ${this.left} bytes left (corrupt or truncated file)`, what);
    return Number(n);
  }

  str(what: string): string {
    const len = this.u64(`${what} length`);
    if (len > BigInt(Math.min(MAX_STRING, this.left))) fail(this.path, `${what}: string length ${len} runs past the end of the file or the ${MAX_STRING}-byte limit`, what);
    try {
      return this.utf8.decode(this.take(Number(len), what));
    } catch (e) {
      if (e instanceof WeftError) throw e;
      return fail(this.path, `${what} is not valid UTF-8`, what);
    }
  }

  /** A typed value (u32 type id, then the value) for metadata key `key`. */
  value(key: string, typeId?: number, depth = 0): GgufValue {
    const id = typeId ?? this.u32(`metadata "${key}" value type`);
    const t = VALUE_TYPES[id];
    if (!t) fail(this.path, `metadata "${key}": unknown value type ${id}`, key);
    const [name, size] = t;
    if (name === 'string') return this.str(`metadata "${key}"`);
    if (name === 'array') {
      if (depth >= MAX_DEPTH) fail(this.path, `metadata "${key}": arrays nested deeper than ${MAX_DEPTH}`, key);
      const itemType = this.u32(`metadata "${key}" array item type`);
      const it = VALUE_TYPES[itemType];
      if (!it) fail(this.path, `metadata "${key}": unknown array item type ${itemType}`, key);
      // A string item needs at least its 8-byte length; a nested array its 12-byte type + count.
      const n = this.count(`metadata "${key}" array length`, it[1] || (it[0] === 'string' ? 8 : 12));
      const out: GgufValue[] = [];
      for (let i = 0; i < n; i++) out.push(this.value(key, itemType, depth + 1));
      return out;
    }
    const b = this.take(size, `metadata "${key}"`);
    switch (name) {
      case 'u8': return b.readUInt8(0);
      case 'i8': return b.readInt8(0);
      case 'u16': return b.readUInt16LE(0);
      case 'i16': return b.readInt16LE(0);
      case 'u32': return b.readUInt32LE(0);
      case 'i32': return b.readInt32LE(0);
      case 'f32': return b.readFloatLE(0);
      case 'f64': return b.readDoubleLE(0);
      case 'bool': return b.readUInt8(0) !== 0;
      case 'u64': return b.readBigUInt64LE(0);
      default: return b.readBigInt64LE(0);
    }
  }
}
