/**
 * Random FLUX weights in the BFL key layout, for tests and benchmarks: any width, depth and dtype,
 * streamed to disk a chunk at a time (a full-width block is ~1 GB in bf16). Values are deterministic
 * from the seed and scaled like an initialised network (weights ~ U(±√3/√fan_in)) so activations stay O(1).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { f32ToF16 } from '../../io/safetensors.ts';

export interface SyntheticFluxSpec {
  hidden: number;
  heads: number;
  depth: number;
  depthSingle: number;
  mlpRatio?: number;
  inChannels?: number;
  contextDim: number;
  vecDim: number;
  /** guidance_in present (dev) or not (schnell). */
  guidance: boolean;
  dtype?: 'F32' | 'F16' | 'BF16';
  seed?: number;
  /** Stored as weft_config metadata (needed when the head dim is not a multiple of 16). */
  axesDim?: number[];
  /** Key prefix ('' for a bare diffusion model, 'model.diffusion_model.' inside a checkpoint). */
  prefix?: string;
}

type Kind = 'w' | 'b' | 'scale';

export function fluxTensorList(s: SyntheticFluxSpec): Array<{ key: string; shape: number[]; kind: Kind }> {
  const C = s.hidden, M = Math.round(C * (s.mlpRatio ?? 4)), D = C / s.heads, P = (s.inChannels ?? 16) * 4;
  const out: Array<{ key: string; shape: number[]; kind: Kind }> = [];
  const lin = (k: string, o: number, i: number) => {
    out.push({ key: `${k}.weight`, shape: [o, i], kind: 'w' }, { key: `${k}.bias`, shape: [o], kind: 'b' });
  };
  const mlpEmb = (k: string, i: number) => { lin(`${k}.in_layer`, C, i); lin(`${k}.out_layer`, C, C); };
  lin('img_in', C, P);
  lin('txt_in', C, s.contextDim);
  mlpEmb('time_in', 256);
  if (s.guidance) mlpEmb('guidance_in', 256);
  mlpEmb('vector_in', s.vecDim);
  for (let i = 0; i < s.depth; i++)
    for (const st of ['img', 'txt']) {
      const p = `double_blocks.${i}.${st}`;
      lin(`${p}_mod.lin`, 6 * C, C);
      lin(`${p}_attn.qkv`, 3 * C, C);
      out.push({ key: `${p}_attn.norm.query_norm.scale`, shape: [D], kind: 'scale' }, { key: `${p}_attn.norm.key_norm.scale`, shape: [D], kind: 'scale' });
      lin(`${p}_attn.proj`, C, C);
      lin(`${p}_mlp.0`, M, C);
      lin(`${p}_mlp.2`, C, M);
    }
  for (let i = 0; i < s.depthSingle; i++) {
    const p = `single_blocks.${i}`;
    lin(`${p}.modulation.lin`, 3 * C, C);
    lin(`${p}.linear1`, 3 * C + M, C);
    lin(`${p}.linear2`, C, C + M);
    out.push({ key: `${p}.norm.query_norm.scale`, shape: [D], kind: 'scale' }, { key: `${p}.norm.key_norm.scale`, shape: [D], kind: 'scale' });
  }
  lin('final_layer.adaLN_modulation.1', 2 * C, C);
  lin('final_layer.linear', P, C);
  const prefix = s.prefix ?? '';
  return out.map((t) => ({ ...t, key: prefix + t.key }));
}

/** mulberry32: a small fast deterministic generator (uniform in [0, 1)). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHUNK = 1 << 20;

/** Writes the file; returns its parameter count. */
export function writeSyntheticFlux(path: string, s: SyntheticFluxSpec): number {
  const dtype = s.dtype ?? 'F32';
  const size = dtype === 'F32' ? 4 : 2;
  const list = fluxTensorList(s);
  const header: Record<string, unknown> = {};
  if (s.axesDim) header.__metadata__ = { weft_config: JSON.stringify({ dit: { axes_dim: s.axesDim } }) };
  let offset = 0;
  let params = 0;
  for (const t of list) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    header[t.key] = { dtype, shape: t.shape, data_offsets: [offset, offset + n * size] };
    offset += n * size;
    params += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json));
    const rand = rng(s.seed ?? 1);
    const f32 = new Float32Array(CHUNK);
    const u16 = new Uint16Array(CHUNK);
    const hi = new Uint16Array(f32.buffer);
    for (const t of list) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      const amp = t.kind === 'w' ? Math.sqrt(3 / t.shape[1]!) : t.kind === 'b' ? 0.02 : 0.5;
      for (let done = 0; done < n; done += CHUNK) {
        const m = Math.min(CHUNK, n - done);
        for (let i = 0; i < m; i++) f32[i] = (t.kind === 'scale' ? 1 : 0) + amp * (2 * rand() - 1);
        let bytes: Uint8Array;
        if (dtype === 'F32') bytes = new Uint8Array(f32.buffer, 0, m * 4);
        else if (dtype === 'BF16') {
          // Truncation, not rounding: these are random numbers, not a conversion of real weights.
          for (let i = 0; i < m; i++) u16[i] = hi[2 * i + 1]!;
          bytes = new Uint8Array(u16.buffer, 0, m * 2);
        } else {
          for (let i = 0; i < m; i++) u16[i] = f32ToF16(f32[i]!);
          bytes = new Uint8Array(u16.buffer, 0, m * 2);
        }
        let w = 0;
        while (w < bytes.length) w += writeSync(fd, bytes, w, bytes.length - w);
      }
    }
  } finally {
    closeSync(fd);
  }
  return params;
}
