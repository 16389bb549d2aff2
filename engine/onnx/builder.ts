/**
 * Typed ONNX graph builder: opset 21 + com.microsoft 1, IR 10.
 *
 * Weights are external initializers pointing into the user's .safetensors files (zero copy: ORT maps them).
 * ORT resolves every external `location` against ONE folder (`model_external_initializers_file_folder_path`)
 * and rejects absolute paths, `..` and symlinks that leave it (research/onnx.md §2b). So the builder records
 * each weight's real (symlink-resolved) file path and, at serialisation, picks the deepest folder holding all
 * of them — `weightsDir` — and writes locations relative to it. That lets one graph mix a checkpoint, a LoRA,
 * a ControlNet and a cache side file from different model folders. `weightsRoot` pins the folder instead.
 */
import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { WeftError } from '../errors.ts';
import { AttrType, DataType, Msg, type ElemType } from './proto.ts';
import { locateWeight, type WeightSource } from './weights.ts';
import { FLOAT_TYPE, Fp16Policy, defaultDtype, type FloatDtype } from './precision.ts';

export type Ep = 'cpu' | 'webgpu';
export type Dim = number | string;
export type AttrValue =
  | number | bigint | string | number[] | string[]
  | { float: number } | { floats: number[] } | { ints: number[] };

export interface BuilderOptions {
  name?: string;
  /** Op choices per execution provider: 'webgpu' avoids FusedMatMul and CPU-only contrib ops. */
  ep?: Ep;
  /** Folder that external data is resolved against; default: deepest common folder of all weight files. */
  weightsRoot?: string;
  dtype?: FloatDtype; // compute/weight type; 'float16' = the GPU variant precision.ts rewrites to (default float32)
}

export interface OpOptions {
  domain?: string;
  /** Node name (shows up in ORT errors and profiles). */
  name?: string;
}

export const OPSET = 21;
export const IR_VERSION = 10;
export const MS_DOMAIN = 'com.microsoft';

/** Attributes ORT defines as FLOAT whenever they are given a plain number (1.0 is an integer in JS). */
const FLOAT_ATTRS = new Set(['epsilon', 'alpha', 'beta', 'scale', 'gamma', 'mask_filter_value', 'momentum', 'bias', 'lambd']);

const SAFETENSORS_TO_ONNX: Record<string, number> = {
  F32: DataType.float32, F16: DataType.float16, BF16: DataType.bfloat16, F64: DataType.float64,
  I64: DataType.int64, I32: DataType.int32, I16: DataType.int16, I8: DataType.int8, U8: DataType.uint8,
  BOOL: DataType.bool, F8_E4M3: DataType.float8e4m3fn, F8_E5M2: DataType.float8e5m2,
};

interface ExternalInit { name: string; dataType: number; dims: number[]; file: string; offset: number; length: number }

function attrProto(name: string, v: AttrValue): Msg {
  const m = new Msg().str(1, name);
  if (typeof v === 'object' && !Array.isArray(v)) {
    if ('float' in v) return m.int(20, AttrType.FLOAT).float(2, v.float);
    if ('floats' in v) { m.int(20, AttrType.FLOATS); for (const x of v.floats) m.float(7, x); return m; }
    m.int(20, AttrType.INTS); for (const x of v.ints) m.int(8, x); return m;
  }
  if (typeof v === 'bigint') return m.int(20, AttrType.INT).int(3, v);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && !FLOAT_ATTRS.has(name)) return m.int(20, AttrType.INT).int(3, v);
    return m.int(20, AttrType.FLOAT).float(2, v);
  }
  if (typeof v === 'string') return m.int(20, AttrType.STRING).str(4, v);
  if (v.every((x) => typeof x === 'string')) { m.int(20, AttrType.STRINGS); for (const s of v as string[]) m.str(9, s); return m; }
  const nums = v as number[];
  if (nums.every((x) => Number.isInteger(x)) && !FLOAT_ATTRS.has(name)) { m.int(20, AttrType.INTS); for (const x of nums) m.int(8, x); return m; }
  m.int(20, AttrType.FLOATS); for (const x of nums) m.float(7, x); return m;
}

function valueInfo(name: string, type: ElemType, dims?: Dim[]): Msg {
  const tt = new Msg().int(1, DataType[type]);
  if (dims) {
    const sh = new Msg();
    for (const d of dims) sh.msg(1, typeof d === 'number' ? new Msg().int(1, d) : new Msg().str(2, d));
    tt.msg(2, sh);
  }
  return new Msg().str(1, name).msg(2, new Msg().msg(1, tt));
}

function rawTensor(name: string, dataType: number, dims: number[], raw: Uint8Array): Msg {
  const m = new Msg();
  for (const d of dims) m.int(1, d);
  return m.int(2, dataType).str(8, name).bytes(9, raw);
}

function commonDir(files: string[]): string {
  let parts = path.dirname(files[0]!).split(path.sep);
  for (const f of files.slice(1)) {
    const p = path.dirname(f).split(path.sep);
    let i = 0;
    while (i < parts.length && i < p.length && parts[i] === p[i]) i++;
    parts = parts.slice(0, i);
  }
  const dir = parts.join(path.sep);
  if (dir === '' && files[0]!.startsWith(path.sep)) return path.sep;
  if (dir === '' || (process.platform === 'win32' && /^[A-Za-z]:$/.test(dir) && parts.length === 0)) {
    throw new WeftError(`weight files share no common folder (different drives?): ${files.join(', ')}`, { type: 'model_load_error' });
  }
  return process.platform === 'win32' && /^[A-Za-z]:$/.test(dir) ? dir + path.sep : dir;
}

export class GraphBuilder {
  readonly name: string;
  readonly ep: Ep;
  readonly dtype: FloatDtype;
  readonly fp16?: Fp16Policy; // fp16 graphs only: every emitted node goes through it
  private readonly weightsRoot?: string;
  private readonly nodes: Msg[] = [];
  private readonly inits: Msg[] = [];
  private readonly externals: ExternalInit[] = [];
  private readonly inputs: Msg[] = [];
  private readonly outputs: Msg[] = [];
  private readonly names = new Set<string>();
  private readonly weightCache = new Map<string, string>();
  private readonly constCache = new Map<string, string>();
  private readonly realpaths = new Map<string, string>();
  private counter = 0;

  constructor(opts: BuilderOptions = {}) {
    this.name = opts.name ?? 'weft';
    this.ep = opts.ep ?? 'cpu';
    this.weightsRoot = opts.weightsRoot;
    if ((this.dtype = opts.dtype ?? defaultDtype()) === 'float16') this.fp16 = new Fp16Policy(this);
  }

  /** A value name not used before, for intermediate results. */
  fresh(prefix = 't'): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`; while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  private claim(name: string): string {
    if (!this.names.has(name)) { this.names.add(name); return name; }
    return this.fresh(name);
  }

  input(name: string, type: ElemType, dims: Dim[]): string {
    if (this.names.has(name)) throw new WeftError(`graph ${this.name}: input name "${name}" already used`);
    this.names.add(name);
    this.inputs.push(valueInfo(name, type, dims));
    return this.fp16 && type === 'float32' && !this.fp16.inFloat32Scope ? this.fp16.enter(name) : name;
  }

  /** Declares a graph output; an Identity renames `value` when it differs from `name`. */
  output(value: string, name: string, type: ElemType = 'float32', dims?: Dim[]): void {
    if (this.fp16 && type === 'float32') value = this.fp16.exit(value); // callers read float32 back
    if (value !== name) {
      if (this.names.has(name)) throw new WeftError(`graph ${this.name}: output name "${name}" already used`);
      this.names.add(name);
      this.emit('Identity', [value], [name], {}, {});
    }
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** One node with one output; returns the output value's name. '' marks an omitted optional input. */
  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, opts: OpOptions = {}): string {
    const out = this.fresh(type);
    this.emit(type, inputs, [out], attrs, opts);
    return out;
  }

  /** One node with `n` outputs. */
  opN(type: string, inputs: string[], n: number, attrs: Record<string, AttrValue> = {}, opts: OpOptions = {}): string[] {
    const outs = Array.from({ length: n }, () => this.fresh(type));
    this.emit(type, inputs, outs, attrs, opts);
    return outs;
  }

  private emit(type: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue>, opts: OpOptions): void {
    if (this.fp16) ({ inputs, attrs } = this.fp16.node(type, inputs, attrs));
    const m = new Msg();
    for (const i of inputs) m.str(1, i);
    for (const o of outputs) m.str(2, o);
    m.str(3, opts.name ?? `${type}_${this.nodes.length}`).str(4, type);
    for (const [k, v] of Object.entries(attrs)) m.msg(5, attrProto(k, v));
    if (opts.domain) m.str(7, opts.domain);
    this.nodes.push(m);
  }

  /** An inline initializer (small tensors only: ORT copies inline data). Identical constants are shared. Uint16Array = fp16 bits. */
  constant(data: Float32Array | BigInt64Array | Int32Array | Uint16Array, dims: number[], name?: string): string {
    const type = data instanceof Float32Array ? DataType.float32 : data instanceof BigInt64Array ? DataType.int64 : data instanceof Uint16Array ? DataType.float16 : DataType.int32;
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const key = data.byteLength <= 256 && !name ? `${type}|${dims.join(',')}|${Buffer.from(raw).toString('base64')}` : '';
    if (key) { const hit = this.constCache.get(key); if (hit) return hit; }
    const n = name ? this.claim(name) : this.fresh('const');
    this.inits.push(rawTensor(n, type, dims, raw.slice()));
    if (key) this.constCache.set(key, n);
    if (this.fp16 && data instanceof Float32Array) this.fp16.noteConstant(n, data, dims);
    return n;
  }

  scalar(v: number): string { return this.constant(Float32Array.of(v), []); }

  constInt64(vals: number[]): string {
    return this.constant(BigInt64Array.from(vals.map((v) => BigInt(v))), [vals.length]);
  }

  /** Shape of a checkpoint tensor (throws a WeftError naming file and key when missing). */
  shapeOf(file: WeightSource, key: string): number[] {
    const t = file.tensors.get(key);
    if (!t) throw new WeftError(`${file.path}: tensor "${key}" is missing (needed by graph ${this.name})`, { file: file.path, input: key, type: 'model_load_error' });
    return t.shape;
  }

  /**
   * A float32 value holding checkpoint tensor `key`, read by ORT straight from the file. `rows` takes a
   * contiguous range along dim 0 (free: just another byte range), used to split fused q/k/v or GEGLU halves.
   * fp16/bf16/f8/f64 tensors get a Cast to float, which ORT constant-folds once at session creation.
   */
  weight(file: WeightSource, key: string, opts: { rows?: [number, number] } = {}): string {
    const shape = this.shapeOf(file, key);
    // An overlay source may keep this key in another file (a LoRA side file): read it from there.
    const { path: home, tensor: t } = locateWeight(file, key);
    const real = this.realpath(home);
    const want = this.fp16 && !this.fp16.inFloat32Scope ? FLOAT_TYPE.float16 : FLOAT_TYPE.float32; // fp16 graph: fp16 weights
    const cacheKey = `${real}\0${key}\0${opts.rows?.join(':') ?? ''}\0${want}`;
    const hit = this.weightCache.get(cacheKey);
    if (hit) return hit;
    const dataType = SAFETENSORS_TO_ONNX[t.dtype];
    if (dataType === undefined) throw new WeftError(`${file.path}: tensor "${key}" has dtype ${t.dtype}, which the graph builder cannot load`, { file: file.path, input: key });
    let dims = shape;
    let offset = t.offset;
    let length = t.byteLength;
    if (opts.rows) {
      const [a, b] = opts.rows;
      if (shape.length === 0 || a < 0 || b > shape[0]! || a >= b) throw new WeftError(`${file.path}: tensor "${key}" [${shape.join(', ')}] has no rows ${a}..${b}`, { file: file.path, input: key });
      const rowBytes = t.byteLength / shape[0]!;
      dims = [b - a, ...shape.slice(1)];
      offset += a * rowBytes;
      length = (b - a) * rowBytes;
    }
    const initName = this.claim(opts.rows ? `${key}[${opts.rows[0]}:${opts.rows[1]}]` : key);
    this.externals.push({ name: initName, dataType, dims, file: real, offset, length });
    const value = dataType === want ? initName : this.op('Cast', [initName], { to: want });
    this.weightCache.set(cacheKey, value);
    return value;
  }

  private realpath(p: string): string {
    let r = this.realpaths.get(p);
    if (!r) this.realpaths.set(p, (r = realpathSync(p)));
    return r;
  }

  /** The folder ORT must resolve external data against (pass it to createSession). */
  get weightsDir(): string {
    if (this.weightsRoot) return this.realpath(this.weightsRoot);
    if (this.externals.length === 0) return process.cwd();
    return commonDir([...new Set(this.externals.map((e) => e.file))]);
  }

  /** Files the graph reads weights from (real paths). */
  get weightFiles(): string[] {
    return [...new Set(this.externals.map((e) => e.file))];
  }

  private externalProto(e: ExternalInit, root: string): Msg {
    const rel = path.relative(root, e.file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new WeftError(`weight file ${e.file} is outside the weights folder ${root} (tensor "${e.name}")`, { file: e.file, input: e.name, type: 'model_load_error' });
    }
    const kv = (k: string, v: string) => new Msg().str(1, k).str(2, v);
    const m = new Msg();
    for (const d of e.dims) m.int(1, d);
    m.int(2, e.dataType).str(8, e.name);
    m.msg(13, kv('location', rel.split(path.sep).join('/')));
    m.msg(13, kv('offset', String(e.offset)));
    m.msg(13, kv('length', String(e.length)));
    return m.int(14, 1);
  }

  /** Serialised ModelProto plus the folder its external data is relative to. */
  build(): { bytes: Uint8Array; weightsDir: string } {
    const root = this.weightsDir;
    const g = new Msg();
    for (const n of this.nodes) g.msg(1, n);
    g.str(2, this.name);
    for (const t of this.inits) g.msg(5, t);
    for (const e of this.externals) g.msg(5, this.externalProto(e, root));
    for (const i of this.inputs) g.msg(11, i);
    for (const o of this.outputs) g.msg(12, o);
    const m = new Msg().int(1, IR_VERSION).str(2, 'weft').str(3, '0');
    m.msg(8, new Msg().str(1, '').int(2, OPSET));
    m.msg(8, new Msg().str(1, MS_DOMAIN).int(2, 1));
    m.msg(7, g);
    return { bytes: m.toBytes(), weightsDir: root };
  }

  toBytes(): Uint8Array {
    return this.build().bytes;
  }
}
