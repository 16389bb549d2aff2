/** Bounded file reading shared by the weight-file readers (safetensors, GGUF): errors name the file and field. */
import { readSync } from 'node:fs';
import { WeftError } from '../errors.ts';

/** A malformed or unreadable model file: the message names the file, `field` the header field or tensor. */
export function invalidFile(path: string, msg: string, field?: string): never {
  throw new WeftError(`${path}: ${msg}`, { file: path, type: 'invalid_model_file', input: field });
}

/** Fills `buf` from `position`, looping over short reads; a file that ends first is an error naming `what`. */
export function readExactly(fd: number, buf: Uint8Array, position: number, path: string, what: string): void {
  let done = 0;
  while (done < buf.byteLength) {
    const n = readSync(fd, buf, done, buf.byteLength - done, position + done);
    if (n === 0) invalidFile(path, `file ends while reading ${what}`);
    done += n;
  }
}
