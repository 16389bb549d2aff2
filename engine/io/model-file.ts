/**
 * Opens any supported weights file as a tensor table: .safetensors/.sft directly, PyTorch zip files
 * (.ckpt/.pt/.pth/.bin) through the restricted unpickler. Both satisfy detect.ts's TensorSource.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { WeftError } from '../errors.ts';
import { SafetensorsFile } from './safetensors.ts';
import { TorchFile, toSafetensors } from './torch-file.ts';

export type ModelFile = SafetensorsFile | TorchFile;

function magic(path: string): Buffer {
  const b = Buffer.alloc(4);
  let fd: number;
  try { fd = openSync(path, 'r'); } catch (e) { throw new WeftError(`${path}: cannot open: ${(e as Error).message}`, { file: path }); }
  try { readSync(fd, b, 0, 4, 0); } finally { closeSync(fd); }
  return b;
}

export function openModelFile(path: string): ModelFile {
  // Decided by content, not extension: many .bin/.pt files are renamed safetensors and vice versa.
  if (magic(path).readUInt32LE(0) === 0x04034b50) return TorchFile.open(path);
  if (/\.(ckpt|pt|pth|bin|pkl)$/i.test(path) && magic(path)[0] === 0x80) return TorchFile.open(path); // legacy format: clear error
  return SafetensorsFile.open(path);
}

/** A safetensors path for any model file (PyTorch files are converted once into cacheDir). */
export function safetensorsPathFor(path: string, cacheDir: string): string {
  // GGUF stays as it is: the FLUX loader maps its quantised blocks directly (engine/models/quant/gguf.ts).
  return magic(path).readUInt32LE(0) === 0x04034b50 ? toSafetensors(path, cacheDir) : path;
}
