/**
 * Synthetic LDM-layout UNet checkpoints (`model.diffusion_model.*` names and shapes exactly as SD1/SD2/SDXL
 * single-file checkpoints have them) with deterministic random weights, for tests and the step benchmark.
 * Weights are scaled so activations stay O(1) through the network: a real run exercises real numerics.
 */
import { closeSync, ftruncateSync, openSync, renameSync, writeSync } from 'node:fs';
import { float32ToFloat16Array, writeSafetensors, type TensorToWrite } from '../../io/safetensors.ts';

export interface SyntheticUNetSpec {
  inChannels?: number;
  outChannels?: number;
  modelChannels: number;
  channelMult: number[];
  numResBlocks: number;
  /** SpatialTransformer depth per level (0: no attention at that level). */
  transformerDepth: number[];
  /** Middle transformer depth (default 1). */
  transformerDepthMiddle?: number;
  contextDim: number;
  /** Linear proj_in/out (SD2/SDXL) instead of 1×1 convs (SD1). */
  linearProj?: boolean;
  /** SDXL ADM width; 0/undefined for none. */
  admInChannels?: number;
  prefix?: string;
}

export interface ParamSpec { name: string; shape: number[] }

/** Every parameter name and shape, in a stable order. */
export function unetParams(s: SyntheticUNetSpec): ParamSpec[] {
  const p = s.prefix ?? 'model.diffusion_model.';
  const out: ParamSpec[] = [];
  const add = (name: string, shape: number[]): void => void out.push({ name: p + name, shape });
  const wb = (k: string, shape: number[]): void => { add(`${k}.weight`, shape); add(`${k}.bias`, [shape[0]!]); };
  const mc = s.modelChannels;
  const ted = 4 * mc;
  const res = (k: string, cin: number, cout: number): void => {
    wb(`${k}.in_layers.0`, [cin]); wb(`${k}.in_layers.2`, [cout, cin, 3, 3]);
    wb(`${k}.emb_layers.1`, [cout, ted]);
    wb(`${k}.out_layers.0`, [cout]); wb(`${k}.out_layers.3`, [cout, cout, 3, 3]);
    if (cin !== cout) wb(`${k}.skip_connection`, [cout, cin, 1, 1]);
  };
  const transformer = (k: string, ch: number, depth: number): void => {
    const proj = s.linearProj ? [ch, ch] : [ch, ch, 1, 1];
    wb(`${k}.norm`, [ch]); wb(`${k}.proj_in`, proj);
    for (let d = 0; d < depth; d++) {
      const b = `${k}.transformer_blocks.${d}`;
      for (const a of ['attn1', 'attn2']) {
        const kv = a === 'attn1' ? ch : s.contextDim;
        add(`${b}.${a}.to_q.weight`, [ch, ch]); add(`${b}.${a}.to_k.weight`, [ch, kv]); add(`${b}.${a}.to_v.weight`, [ch, kv]);
        wb(`${b}.${a}.to_out.0`, [ch, ch]);
      }
      wb(`${b}.ff.net.0.proj`, [8 * ch, ch]); wb(`${b}.ff.net.2`, [ch, 4 * ch]);
      for (const n of ['norm1', 'norm2', 'norm3']) wb(`${b}.${n}`, [ch]);
    }
    wb(`${k}.proj_out`, proj);
  };
  wb('time_embed.0', [ted, mc]); wb('time_embed.2', [ted, ted]);
  if (s.admInChannels) { wb('label_emb.0.0', [ted, s.admInChannels]); wb('label_emb.0.2', [ted, ted]); }
  wb('input_blocks.0.0', [mc, s.inChannels ?? 4, 3, 3]);
  let ch = mc;
  let n = 1;
  const skips = [mc];
  s.channelMult.forEach((mult, level) => {
    for (let i = 0; i < s.numResBlocks; i++) {
      res(`input_blocks.${n}.0`, ch, mult * mc); ch = mult * mc;
      if (s.transformerDepth[level]! > 0) transformer(`input_blocks.${n}.1`, ch, s.transformerDepth[level]!);
      skips.push(ch); n++;
    }
    if (level < s.channelMult.length - 1) { wb(`input_blocks.${n}.0.op`, [ch, ch, 3, 3]); skips.push(ch); n++; }
  });
  res('middle_block.0', ch, ch); transformer('middle_block.1', ch, s.transformerDepthMiddle ?? 1); res('middle_block.2', ch, ch);
  n = 0;
  for (let level = s.channelMult.length - 1; level >= 0; level--) {
    const mult = s.channelMult[level]!;
    for (let i = 0; i <= s.numResBlocks; i++) {
      res(`output_blocks.${n}.0`, ch + skips.pop()!, mult * mc); ch = mult * mc;
      let j = 1;
      if (s.transformerDepth[level]! > 0) transformer(`output_blocks.${n}.${j++}`, ch, s.transformerDepth[level]!);
      if (level > 0 && i === s.numResBlocks) wb(`output_blocks.${n}.${j}.conv`, [ch, ch, 3, 3]);
      n++;
    }
  }
  wb('out.0', [ch]); wb('out.2', [s.outChannels ?? 4, mc, 3, 3]);
  return out;
}

/** Deterministic values for one parameter: fan-in scaled uniform weights, norms near 1, small biases. */
export function syntheticValues(param: ParamSpec, seed: number): Float32Array {
  const n = param.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let st = (seed ^ hash(param.name)) >>> 0 || 1;
  const isNorm = /(norm\d?|in_layers\.0|out_layers\.0|out\.0)\.(weight|bias)$/.test(param.name) && param.shape.length === 1;
  const isBias = param.name.endsWith('.bias');
  const fanIn = param.shape.length > 1 ? n / param.shape[0]! : 1;
  const scale = isNorm ? 0.1 : isBias ? 0.05 : Math.sqrt(3 / fanIn);
  const base = isNorm && param.name.endsWith('.weight') ? 1 : 0;
  for (let i = 0; i < n; i++) {
    st ^= st << 13; st >>>= 0; st ^= st >>> 17; st ^= st << 5; st >>>= 0;
    out[i] = base + (st / 4294967296 * 2 - 1) * scale;
  }
  return out;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Writes a small synthetic checkpoint with writeSafetensors (everything in memory). */
export function writeSyntheticUNet(path: string, s: SyntheticUNetSpec, opts: { dtype?: 'F32' | 'F16'; seed?: number; metadata?: Record<string, string>; extra?: Record<string, TensorToWrite> } = {}): ParamSpec[] {
  const params = unetParams(s);
  const tensors: Record<string, TensorToWrite> = { ...opts.extra };
  for (const p of params) {
    const v = syntheticValues(p, opts.seed ?? 1);
    tensors[p.name] = opts.dtype === 'F16' ? { dtype: 'F16', shape: p.shape, data: float32ToFloat16Array(v) } : { dtype: 'F32', shape: p.shape, data: v };
  }
  writeSafetensors(path, tensors, opts.metadata);
  return params;
}

/**
 * Streams a large synthetic fp32 checkpoint one tensor at a time (an SD1.5-sized UNet is 3.4 GB: holding it
 * all in JS memory first would double the benchmark's footprint). Same header layout as writeSafetensors.
 * `sparse` writes only the header and leaves the data a hole of zeros.
 */
export function streamSyntheticUNet(path: string, s: SyntheticUNetSpec, seed = 1, opts: { sparse?: boolean } = {}): ParamSpec[] {
  const params = unetParams(s);
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const p of params) {
    const bytes = p.shape.reduce((a, b) => a * b, 1) * 4;
    header[p.name] = { dtype: 'F32', shape: p.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    // sparse: header only, the data section a hole of zeros (layout tests of real-size models, no disk use).
    if (opts.sparse) ftruncateSync(fd, 8 + Buffer.byteLength(json) + off);
    else for (const p of params) {
      const v = syntheticValues(p, seed);
      const b = new Uint8Array(v.buffer);
      let done = 0;
      while (done < b.byteLength) done += writeSync(fd, b, done, b.byteLength - done);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return params;
}
