/**
 * PyTorch checkpoints (.pt/.pth/.ckpt/.bin, the zip format torch ≥ 1.6 writes) read as a tensor table
 * like SafetensorsFile's, through the restricted unpickler. `toSafetensors` writes a cached safetensors
 * copy so graph builders can map the weights as external data like any safetensors file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { WeftError } from '../errors.ts';
import { PersistentRef, PickleGlobal, Reduced, unpickle } from './pickle.ts';
import { dtypeSize, toFloat32, writeSafetensors, type Dtype, type TensorToWrite } from './safetensors.ts';
import { ZipFile } from './zip.ts';

const STORAGE_DTYPES: Record<string, Dtype> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64', LongStorage: 'I64', IntStorage: 'I32',
  ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL', Float8_e4m3fnStorage: 'F8_E4M3', Float8_e5m2Storage: 'F8_E5M2',
};

export interface TorchTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  stride: number[];
  /** zip member holding the storage, and the tensor's offset into it in elements. */
  member: string;
  storageOffset: number;
}

export class TorchFile {
  readonly tensors = new Map<string, TorchTensor>();
  readonly metadata: Record<string, string> = {};
  /**
   * `root` is the unpickled top-level object (dicts are Maps, tensors `Reduced` records). `tensors` lists only
   * those under string keys of nested dicts; files shaped otherwise (hypernetworks: int keys, lists) walk
   * `root` and `adopt` what they find. `archive` is the zip folder holding data.pkl and data/.
   */
  private constructor(readonly path: string, private readonly zip: ZipFile, private readonly archive: string, readonly root: unknown) {}

  static open(path: string, maxPickleBytes = 512 * 1024 * 1024): TorchFile {
    if (!ZipFile.isZip(path)) {
      throw new WeftError(`${path}: not a zip-format PyTorch file (the legacy pre-1.6 format is not supported; re-save it with torch.save or convert it to .safetensors)`, { file: path, type: 'invalid_model_file' });
    }
    const zip = ZipFile.open(path);
    try {
      const pkl = [...zip.entries.keys()].find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
      if (!pkl) throw new WeftError(`${path}: zip has no data.pkl (not a PyTorch checkpoint)`, { file: path, type: 'invalid_model_file' });
      if (zip.entries.get(pkl)!.size > maxPickleBytes) throw new WeftError(`${path}: data.pkl is larger than ${maxPickleBytes} bytes`, { file: path });
      const f = new TorchFile(path, zip, pkl.slice(0, pkl.length - 'data.pkl'.length), unpickle(zip.read(pkl), { file: path }));
      f.collect(pickStateDict(f.root), '', 0);
      return f;
    } catch (e) {
      zip.close();
      throw e;
    }
  }

  private collect(v: unknown, prefix: string, depth: number): void {
    if (depth > 8) return;
    if (this.adopt(v, prefix)) return;
    const m = v instanceof Reduced && v.state instanceof Map ? v.state : v;
    if (m instanceof Map) for (const [k, x] of m) if (typeof k === 'string') this.collect(x, prefix ? `${prefix}.${k}` : k, depth + 1);
  }

  /**
   * Lists the tensor record `v` (a value from `root`) under `name`, so get/readRaw/readFloat32 reach it, after
   * checking it stays inside its storage. Null when `v` is not a tensor.
   */
  adopt(v: unknown, name: string): TorchTensor | null {
    const t = asTensor(v, this.path, name);
    if (!t) return null;
    const member = `${this.archive}data/${t.key}`;
    const e = this.zip.entries.get(member);
    if (!e) throw new WeftError(`${this.path}: tensor "${name}" points at missing storage "${member}"`, { file: this.path, input: name });
    let maxIndex = 0;
    t.shape.forEach((d, i) => { if (d > 0) maxIndex += (d - 1) * t.stride[i]!; });
    const empty = t.shape.some((d) => d === 0);
    if (!empty && (t.offset + maxIndex + 1) * dtypeSize(t.dtype) > e.size) throw new WeftError(`${this.path}: tensor "${name}" reaches past its storage`, { file: this.path, input: name });
    const out: TorchTensor = { name, dtype: t.dtype, shape: t.shape, stride: t.stride, member, storageOffset: t.offset };
    this.tensors.set(name, out);
    return out;
  }

  has(name: string): boolean { return this.tensors.has(name); }

  get(name: string): TorchTensor {
    const t = this.tensors.get(name);
    if (!t) throw new WeftError(`${this.path}: no tensor named "${name}"`, { file: this.path, input: name });
    return t;
  }

  /** Contiguous little-endian bytes of one tensor (strided views are gathered). */
  readRaw(name: string): Buffer {
    const t = this.get(name);
    const es = dtypeSize(t.dtype);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n === 0) return Buffer.alloc(0);
    let span = 1;
    t.shape.forEach((d, i) => { span += (d - 1) * t.stride[i]!; });
    const src = this.zip.read(t.member, t.storageOffset * es, span * es);
    let contiguous = true;
    let expect = 1;
    for (let i = t.shape.length - 1; i >= 0; i--) { if (t.shape[i]! > 1 && t.stride[i] !== expect) contiguous = false; expect *= t.shape[i]!; }
    if (contiguous) return Buffer.from(src.subarray(0, n * es));
    const out = Buffer.alloc(n * es);
    const idx = new Array(t.shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      let off = 0;
      for (let d = 0; d < idx.length; d++) off += idx[d] * t.stride[d]!;
      src.copy(out, i * es, off * es, off * es + es);
      for (let d = idx.length - 1; d >= 0; d--) { if (++idx[d] < t.shape[d]!) break; idx[d] = 0; }
    }
    return out;
  }

  readFloat32(name: string): Float32Array {
    return toFloat32(this.readRaw(name), this.get(name).dtype, this.path, name);
  }

  close(): void { this.zip.close(); }
}

/** Lightning `.ckpt` wraps the weights in `state_dict`; BasicSR upscalers in `params_ema` / `params`. */
function pickStateDict(obj: unknown): unknown {
  if (obj instanceof Map) for (const k of ['state_dict', 'params_ema', 'params', 'model']) if (obj.get(k) instanceof Map || obj.get(k) instanceof Reduced) return obj.get(k);
  return obj;
}

function asTensor(v: unknown, path: string, name: string): { key: string; dtype: Dtype; offset: number; shape: number[]; stride: number[] } | null {
  if (!(v instanceof Reduced)) return null;
  if (v.fn === 'torch._utils._rebuild_parameter' || v.fn === 'torch._utils._rebuild_parameter_with_state') return asTensor(v.args[0], path, name);
  if (v.fn === 'torch._tensor._rebuild_from_type_v2') return asTensor(v.args[1] instanceof Reduced ? v.args[1] : null, path, name);
  if (v.fn !== 'torch._utils._rebuild_tensor_v2' && v.fn !== 'torch._utils._rebuild_tensor') return null;
  const [storage, offset, shape, stride] = v.args as [unknown, unknown, unknown, unknown];
  const bad = (why: string): never => { throw new WeftError(`${path}: tensor "${name}": ${why}`, { file: path, input: name }); };
  if (!(storage instanceof PersistentRef) || !Array.isArray(storage.pid)) return bad('storage is not a persistent reference');
  const [kind, type, key] = storage.pid as [unknown, unknown, unknown];
  if (kind !== 'storage' || !(type instanceof PickleGlobal) || typeof key !== 'string') return bad('unrecognised storage reference');
  const dtype = STORAGE_DTYPES[(type as PickleGlobal).name];
  if (!dtype) return bad(`unsupported storage type ${(type as PickleGlobal).full}`);
  const ints = (x: unknown): x is number[] => Array.isArray(x) && x.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (!ints(shape) || !ints(stride) || shape.length !== stride.length || !Number.isSafeInteger(offset) || (offset as number) < 0) return bad('bad shape/stride/offset');
  if (/[/\\]|\.\./.test(key)) return bad(`storage key "${key}" is not a plain name`);
  return { key, dtype, offset: offset as number, shape: [...shape], stride: [...stride] };
}

/**
 * Writes (once) a safetensors copy of a PyTorch file into cacheDir, named after the source and keyed by
 * its path, size and mtime, and returns its path. Memory: holds all tensors while writing, which is fine
 * for upscalers and embeddings; multi-GB .ckpt files are better converted once by the user.
 */
export function toSafetensors(ptPath: string, cacheDir: string): string {
  const st = statSync(ptPath);
  const id = createHash('sha256').update(`${ptPath}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
  const out = join(cacheDir, `${basename(ptPath).replace(/\.[^.]+$/, '')}-${id}.safetensors`);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir, { recursive: true });
  const f = TorchFile.open(ptPath);
  try {
    const tensors: Record<string, TensorToWrite> = {};
    for (const t of f.tensors.values()) tensors[t.name] = { dtype: t.dtype, shape: t.shape, data: f.readRaw(t.name) };
    writeSafetensors(out, tensors, { format: 'pt', source: basename(ptPath) });
  } finally {
    f.close();
  }
  return out;
}
