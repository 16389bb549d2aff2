/**
 * Streamed safetensors side files (quantized weight caches): the header is laid out first from each
 * tensor's byte size, then the tensors are produced and written one at a time, so a multi-GB cache never
 * sits in memory. Written to a temp file and renamed into place, so a crash never leaves a half file under
 * the cache's name.
 */
import { closeSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { WeftError, errorMessage } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';

export class SideFileWriter {
  private readonly header: Record<string, unknown>;
  private offset = 0;

  constructor(metadata: Record<string, string>) {
    this.header = { __metadata__: metadata };
  }

  /** Declares the next tensor; the body must then write exactly `bytes` bytes for it, in declaration order. */
  add(name: string, dtype: string, shape: number[], bytes: number): void {
    this.header[name] = { dtype, shape, data_offsets: [this.offset, this.offset + bytes] };
    this.offset += bytes;
  }

  /** Writes the file at `target` (for `sourcePath`, named in errors) and returns it opened (descriptor closed: ORT maps it by path). */
  write(target: string, sourcePath: string, body: (write: (bytes: Uint8Array) => void) => void): SafetensorsFile {
    let json = JSON.stringify(this.header);
    json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // the data section starts 8-byte aligned
    const hbuf = Buffer.from(json);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hbuf.length));
    mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const fd = openSync(tmp, 'w');
    const write = (bytes: Uint8Array): void => {
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    };
    try {
      write(len);
      write(hbuf);
      body(write);
      closeSync(fd);
      renameSync(tmp, target);
    } catch (e) {
      try { closeSync(fd); } catch { /* closed */ }
      try { unlinkSync(tmp); } catch { /* never written */ }
      throw new WeftError(`could not write the quantized cache ${target} for ${sourcePath}: ${errorMessage(e)}`, { file: sourcePath, type: 'model_load_error' });
    }
    const file = SafetensorsFile.open(target);
    file.close();
    return file;
  }
}
