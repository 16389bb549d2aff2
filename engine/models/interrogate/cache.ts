/**
 * On-disk cache of phrase-list text embeddings, keyed by (CLIP file content hash, list content hash), so a
 * second interrogation with the same model and lists runs no text encoder at all. Hashing a 1.7 GB model
 * file takes seconds, so its hash is remembered per (real path, size, mtime) in memory and in `files.json`
 * beside the entries. Entries: magic 'WEFTEMB1', uint32 rows, uint32 dim, float32 rows (little-endian);
 * written to a temp file and renamed so readers never see half an entry.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const MAGIC = 'WEFTEMB1';
const hashMemo = new Map<string, string>();

function statKey(file: string): string {
  const real = fs.realpathSync(file);
  const st = fs.statSync(real);
  return `${real}|${st.size}|${st.mtimeMs}`;
}

function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 * 2 ** 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

export class EmbeddingCache {
  constructor(readonly dir: string) {}

  /** sha256 of the model file, computed once per (path, size, mtime). */
  modelHash(file: string): string {
    const key = statKey(file);
    const memo = hashMemo.get(key);
    if (memo) return memo;
    const index = path.join(this.dir, 'files.json');
    let known: Record<string, string> = {};
    try { known = JSON.parse(fs.readFileSync(index, 'utf8')); } catch { /* first use or unreadable: rebuilt */ }
    let h = known[key];
    if (!h) {
      h = sha256File(file);
      known[key] = h;
      fs.mkdirSync(this.dir, { recursive: true });
      writeAtomic(index, JSON.stringify(known, null, 1));
    }
    hashMemo.set(key, h);
    return h;
  }

  entryPath(modelHash: string, listHash: string): string {
    return path.join(this.dir, `${modelHash.slice(0, 24)}-${listHash.slice(0, 24)}.emb`);
  }

  /** Cached [rows, dim] embeddings, or null when absent or not of the expected size. */
  get(modelHash: string, listHash: string, rows: number, dim: number): Float32Array | null {
    let buf: Buffer;
    try { buf = fs.readFileSync(this.entryPath(modelHash, listHash)); } catch { return null; }
    if (buf.length !== 16 + rows * dim * 4 || buf.toString('latin1', 0, 8) !== MAGIC) return null;
    if (buf.readUInt32LE(8) !== rows || buf.readUInt32LE(12) !== dim) return null;
    const out = new Float32Array(rows * dim);
    for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(16 + i * 4);
    return out;
  }

  put(modelHash: string, listHash: string, rows: number, dim: number, data: Float32Array): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const buf = Buffer.alloc(16 + data.length * 4);
    buf.write(MAGIC, 0, 'latin1');
    buf.writeUInt32LE(rows, 8);
    buf.writeUInt32LE(dim, 12);
    for (let i = 0; i < data.length; i++) buf.writeFloatLE(data[i]!, 16 + i * 4);
    writeAtomic(this.entryPath(modelHash, listHash), buf);
  }
}
