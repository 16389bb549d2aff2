/**
 * Zip central-directory reader (PyTorch's .pt/.ckpt are zips of stored members). Members are located,
 * never extracted wholesale: stored data is read in place by offset, deflated data is inflated with a
 * size cap. Zip64 sizes and offsets are supported because torch writes them for large checkpoints.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { WeftError } from '../errors.ts';

export interface ZipEntry {
  name: string;
  method: 0 | 8;
  compressedSize: number;
  size: number;
  /** Absolute offset of the member's data (after its local header). */
  dataOffset: number;
}

function fail(path: string, msg: string): never {
  throw new WeftError(`${path}: ${msg}`, { file: path, type: 'invalid_model_file' });
}

function pread(fd: number, path: string, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let done = 0;
  while (done < len) {
    const n = readSync(fd, b, done, len - done, pos + done);
    if (n === 0) fail(path, `unexpected end of file at byte ${pos + done} (truncated?)`);
    done += n;
  }
  return b;
}

const u64 = (b: Buffer, o: number): number => {
  const v = b.readBigUInt64LE(o);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('zip64 value too large');
  return Number(v);
};

export class ZipFile {
  readonly entries = new Map<string, ZipEntry>();
  private fd: number | null;
  private constructor(readonly path: string, fd: number, readonly size: number) { this.fd = fd; }

  static isZip(path: string): boolean {
    const fd = openSync(path, 'r');
    try {
      const b = Buffer.alloc(4);
      return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === 0x04034b50;
    } finally {
      closeSync(fd);
    }
  }

  static open(path: string): ZipFile {
    const fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const z = new ZipFile(path, fd, size);
    try {
      z.readDirectory();
    } catch (e) {
      z.close();
      if (e instanceof WeftError) throw e;
      fail(path, `not a readable zip: ${(e as Error).message}`);
    }
    return z;
  }

  private readDirectory(): void {
    const fd = this.fd!;
    const tailLen = Math.min(this.size, 65557);
    const tail = pread(fd, this.path, this.size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
    if (eocd < 0) fail(this.path, 'no zip end-of-central-directory record (truncated or not a zip)');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (cdOffset === 0xffffffff || count === 0xffff || cdSize === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) fail(this.path, 'zip64 locator missing');
      const rec = pread(fd, this.path, u64(tail, loc + 8), 56);
      if (rec.readUInt32LE(0) !== 0x06064b50) fail(this.path, 'zip64 end record missing');
      count = u64(rec, 32);
      cdSize = u64(rec, 40);
      cdOffset = u64(rec, 48);
    }
    if (cdOffset + cdSize > this.size || count > cdSize / 46) fail(this.path, 'central directory lies outside the file');
    const cd = pread(fd, this.path, cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) fail(this.path, `central directory entry ${i} is corrupt`);
      const method = cd.readUInt16LE(p + 10);
      let csize = cd.readUInt32LE(p + 20);
      let usize = cd.readUInt32LE(p + 24);
      const nlen = cd.readUInt16LE(p + 28);
      const xlen = cd.readUInt16LE(p + 30);
      const clen = cd.readUInt16LE(p + 32);
      let local = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nlen);
      // zip64 extra: the 0xFFFFFFFF fields appear in order usize, csize, local offset.
      let x = p + 46 + nlen;
      const xend = x + xlen;
      while (x + 4 <= xend) {
        const id = cd.readUInt16LE(x);
        const len = cd.readUInt16LE(x + 2);
        if (id === 0x0001) {
          let q = x + 4;
          if (usize === 0xffffffff) { usize = u64(cd, q); q += 8; }
          if (csize === 0xffffffff) { csize = u64(cd, q); q += 8; }
          if (local === 0xffffffff) { local = u64(cd, q); q += 8; }
        }
        x += 4 + len;
      }
      p = xend + clen;
      if (method !== 0 && method !== 8) fail(this.path, `member "${name}" uses compression method ${method} (only stored and deflate are supported)`);
      const lh = pread(fd, this.path, local, 30);
      if (lh.readUInt32LE(0) !== 0x04034b50) fail(this.path, `member "${name}": bad local header`);
      const dataOffset = local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
      if (dataOffset + csize > this.size) fail(this.path, `member "${name}" runs past the end of the file (truncated?)`);
      this.entries.set(name, { name, method: method as 0 | 8, compressedSize: csize, size: usize, dataOffset });
    }
  }

  /** Reads `length` bytes at `offset` inside a member (uncompressed coordinates). */
  read(name: string, offset = 0, length?: number): Buffer {
    const e = this.entries.get(name);
    if (!e) fail(this.path, `zip member "${name}" not found`);
    if (this.fd === null) fail(this.path, 'file is closed');
    const len = length ?? e.size - offset;
    if (offset < 0 || len < 0 || offset + len > e.size) fail(this.path, `member "${name}": range [${offset}, ${offset + len}) outside its ${e.size} bytes`);
    if (e.method === 0) return pread(this.fd, this.path, e.dataOffset + offset, len);
    let all: Buffer;
    try {
      all = inflateRawSync(pread(this.fd, this.path, e.dataOffset, e.compressedSize), { maxOutputLength: Math.max(e.size, 1) });
    } catch (err) {
      fail(this.path, `member "${name}": cannot inflate: ${(err as Error).message}`);
    }
    if (all.length !== e.size) fail(this.path, `member "${name}": inflated to ${all.length} bytes, directory says ${e.size}`);
    return all.subarray(offset, offset + len);
  }

  close(): void {
    if (this.fd !== null) { closeSync(this.fd); this.fd = null; }
  }
}
