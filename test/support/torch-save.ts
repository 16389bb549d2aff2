/**
 * Writes files the way torch.save does (a zip with archive/data.pkl and one member per storage, pickle
 * protocol 2), from plain JS values, for tests of the PyTorch readers. Nothing here reads or imports engine code.
 */
import { writeFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';

/** A tiny pickle writer producing the opcodes torch.save emits (protocol 2). */
export class P {
  parts: number[] = [0x80, 2];
  op(...b: number[]): this { this.parts.push(...b); return this; }
  str(s: string): this {
    const b = Buffer.from(s);
    if (b.length < 256) return this.op(0x8c, b.length, ...b);
    const n = Buffer.alloc(4); n.writeUInt32LE(b.length);
    return this.op(0x58, ...n, ...b);
  }
  int(n: number): this { const b = Buffer.alloc(4); b.writeInt32LE(n); return this.op(0x4a, ...b); }
  float(x: number): this { const b = Buffer.alloc(8); b.writeDoubleBE(x); return this.op(0x47, ...b); }
  global(m: string, n: string): this { return this.op(0x63, ...Buffer.from(`${m}\n${n}\n`)); }
  stackGlobal(m: string, n: string): this { return this.str(m).str(n).op(0x93); }
  tuple(items: number[]): this { this.op(0x28); for (const i of items) this.int(i); return this.op(0x74); }
  bytes(): Buffer { return Buffer.from([...this.parts, 0x2e]); }
}

/** Zip writer (stored or deflated members, CRC left 0: the reader does not need it). */
export function zip(members: Array<[string, Buffer, boolean?]>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let off = 0;
  for (const [name, data, deflate] of members) {
    const body = deflate ? deflateRawSync(data) : data;
    const n = Buffer.from(name);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(deflate ? 8 : 0, 8); lh.writeUInt32LE(body.length, 18); lh.writeUInt32LE(data.length, 22); lh.writeUInt16LE(n.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(deflate ? 8 : 0, 10); ch.writeUInt32LE(body.length, 20); ch.writeUInt32LE(data.length, 24); ch.writeUInt16LE(n.length, 28); ch.writeUInt32LE(off, 42);
    locals.push(lh, n, body);
    central.push(ch, n);
    off += 30 + n.length + body.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(members.length, 8); eocd.writeUInt16LE(members.length, 10); eocd.writeUInt32LE(cd.length, 12); eocd.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** A contiguous tensor: float32 values, or float16 bits in a Uint16Array. */
export class PtTensor {
  constructor(readonly data: Float32Array | Uint16Array, readonly shape: number[]) {
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`PtTensor: ${data.length} values for shape [${shape.join(', ')}]`);
  }
}
/** A Python float (JS integers are written as Python ints otherwise). */
export class PyFloat { constructor(readonly value: number) {} }
/** An OrderedDict (what state_dict() returns); a plain Map is a dict. */
export class OrderedDict { constructor(readonly entries: Array<[PyValue, PyValue]>) {} }
export type PyValue = null | boolean | number | string | PyFloat | PtTensor | OrderedDict | PyValue[] | Map<PyValue, PyValue>;

/** The data.pkl of `value` and its storages (one per tensor, named '0', '1', …). */
export function pickleValue(value: PyValue): { pkl: Buffer; storages: Buffer[] } {
  const p = new P();
  const storages: Buffer[] = [];
  const items = (xs: Iterable<[PyValue, PyValue]>, op: number): void => {
    p.op(0x28);
    for (const [k, v] of xs) { put(k); put(v); }
    p.op(op);
  };
  const put = (v: PyValue): void => {
    if (v === null) p.op(0x4e);
    else if (typeof v === 'boolean') p.op(v ? 0x88 : 0x89);
    else if (typeof v === 'number') (Number.isInteger(v) ? p.int(v) : p.float(v));
    else if (typeof v === 'string') p.str(v);
    else if (v instanceof PyFloat) p.float(v.value);
    else if (Array.isArray(v)) { p.op(0x5d, 0x28); for (const x of v) put(x); p.op(0x65); }
    else if (v instanceof Map) { p.op(0x7d); items(v, 0x75); }
    else if (v instanceof OrderedDict) { p.global('collections', 'OrderedDict').op(0x29, 0x52); items(v.entries, 0x75); }
    else {
      const half = v.data instanceof Uint16Array;
      const key = String(storages.length);
      storages.push(Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength));
      const stride = v.shape.map((_, i) => v.shape.slice(i + 1).reduce((a, b) => a * b, 1));
      p.global('torch._utils', '_rebuild_tensor_v2').op(0x28);
      p.op(0x28).str('storage').global('torch', half ? 'HalfStorage' : 'FloatStorage').str(key).str('cpu').int(v.data.length).op(0x74, 0x51);
      p.int(0).tuple(v.shape).tuple(stride).op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52).op(0x74, 0x52);
    }
  };
  put(value);
  return { pkl: p.bytes(), storages };
}

/** Writes `value` as torch.save would (zip format, archive/ prefix). */
export function torchSave(path: string, value: PyValue): void {
  const { pkl, storages } = pickleValue(value);
  writeFileSync(path, zip([['archive/data.pkl', pkl], ...storages.map((b, i): [string, Buffer] => [`archive/data/${i}`, b]), ['archive/version', Buffer.from('3\n')]]));
}
