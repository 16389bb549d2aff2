/**
 * Benchmark helpers: full-size random SD checkpoints streamed to disk one tensor at a time (an SDXL fp32
 * checkpoint is ~14 GB: writeSdCheckpoint would hold all of it in RAM first), page-cache eviction for
 * "cold" timings, and CPU/RSS bookkeeping shared by the model benchmarks.
 *
 * The layout is the fixtures' (engine/models/fixtures: real LDM/SGM key names and shapes) and the values
 * are the same Rng sequence writeSdCheckpoint draws; the DDPM schedule buffers are left out (loaders ignore
 * them). Unlike the fixtures' metadata, the UNet heads are the real models' (SD1: 8 heads, SDXL: 64 channels).
 */
import { closeSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { float32ToFloat16Array, type TensorToWrite } from '../../engine/io/safetensors.ts';
import { Rng, TensorSink, fixtureShape, type SdFixtureOptions } from '../../engine/models/fixtures/index.ts';
import { clipL, openClip, unet, vae } from '../../engine/models/fixtures/sd.ts';

export const GiB = 1024 ** 3;
export const gib = (n: number): string => `${(n / GiB).toFixed(2)} GiB`;
export const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');

/** Real-size architectures, as fixture options. */
export const ARCH: Record<'sd15' | 'sdxl', Omit<SdFixtureOptions, 'dtype' | 'seed'> & { clipLayersL?: number }> = {
  sd15: {
    family: 'sd1', modelChannels: 320, channelMult: [1, 2, 4, 4], numResBlocks: 2, transformerDepth: [1, 1, 1, 0], transformerDepthMiddle: 1,
    textWidth: 768, textLayers: 12, vaeCh: 128, vaeChMult: [1, 2, 4, 4], vaeResBlocks: 2,
  },
  sdxl: {
    family: 'sdxl', modelChannels: 320, channelMult: [1, 2, 4], numResBlocks: 2, transformerDepth: [0, 2, 10], transformerDepthMiddle: 10,
    textWidth: 768, textWidthG: 1280, textLayers: 32, clipLayersL: 12, vaeCh: 128, vaeChMult: [1, 2, 4, 4], vaeResBlocks: 2,
  },
};

interface Spec { name: string; shape: number[]; std: number; mean: number }

/** Records what a TensorSink would generate (names, shapes, distributions) without generating it. */
class RecordingSink extends TensorSink {
  readonly specs: Spec[] = [];
  override add(name: string, shape: number[], std = 0.02, mean = 0): void {
    this.specs.push({ name, shape, std, mean });
  }
}

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const SIZE: Record<string, number> = { F32: 4, F16: 2, I64: 8 };

/** The fixture towers of a checkpoint (or of a standalone VAE with `vaeOnly`), recorded. */
function record(o: SdFixtureOptions & { clipLayersL?: number }, vaeOnly: boolean): RecordingSink {
  const s = new RecordingSink(new Rng(o.seed ?? 1), o.dtype ?? 'F32');
  const d = fixtureShape(o);
  if (vaeOnly) { vae(s, '', d.vaeCh, d.vaeMult, d.vaeRes); return s; }
  unet(s, 'model.diffusion_model.', d.unet);
  if (o.family === 'sd1') clipL(s, 'cond_stage_model.transformer.', d.text, d.layers, d.vocab);
  else if (o.family === 'sd2') openClip(s, 'cond_stage_model.model.', d.text, d.layers, d.vocab);
  else {
    clipL(s, 'conditioner.embedders.0.transformer.', d.text, o.clipLayersL ?? d.layers, d.vocab);
    openClip(s, 'conditioner.embedders.1.model.', d.textG, d.layers, d.vocab);
  }
  vae(s, 'first_stage_model.', d.vaeCh, d.vaeMult, d.vaeRes);
  return s;
}

export interface StreamedCheckpoint { bytes: number; tensors: number; params: number }

/**
 * Writes the checkpoint tensor by tensor (peak memory: the largest tensor, ~250 MB for SDXL's bigG
 * embedding). `vaeOnly`: a standalone VAE file (no prefix), as VAELoader reads.
 */
export function streamSdCheckpoint(path: string, o: SdFixtureOptions & { clipLayersL?: number }, opts: { vaeOnly?: boolean } = {}): StreamedCheckpoint {
  const dtype = o.dtype ?? 'F32';
  const s = record(o, !!opts.vaeOnly);
  const literal = Object.entries(s.out) as Array<[string, TensorToWrite]>;
  const header: Record<string, unknown> = {};
  if (!opts.vaeOnly) {
    const family = o.family;
    header.__metadata__ = {
      weft_config: JSON.stringify({
        generator: 'weft bench', family, dtype, seed: o.seed ?? 1,
        unet: family === 'sd1' ? { num_heads: 8, num_head_channels: -1 } : { num_heads: -1, num_head_channels: (o.modelChannels ?? 32) >= 320 ? 64 : 16 },
        clip: { num_attention_heads: 12 }, clip_l: { num_attention_heads: 12 }, clip_g: { num_attention_heads: 20 },
      }),
    };
  }
  let off = 0;
  let params = 0;
  for (const p of s.specs) {
    const n = numel(p.shape);
    params += n;
    header[p.name] = { dtype, shape: p.shape, data_offsets: [off, off + n * SIZE[dtype]!] };
    off += n * SIZE[dtype]!;
  }
  for (const [name, t] of literal) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const put = (b: Uint8Array): void => {
    let done = 0;
    while (done < b.byteLength) done += writeSync(fd, b, done, b.byteLength - done);
  };
  try {
    put(len);
    put(Buffer.from(json));
    const rng = new Rng(o.seed ?? 1);
    const half = (std: number): number => std * Math.sqrt(3);
    for (const p of s.specs) {
      // Same draws as TensorSink.add / Rng.fill, in the same order.
      const n = numel(p.shape);
      const a = new Float32Array(n);
      const h = half(p.std);
      for (let i = 0; i < n; i++) a[i] = p.mean + (rng.next() * 2 - 1) * h;
      const out = dtype === 'F16' ? float32ToFloat16Array(a) : a;
      put(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    }
    for (const [, t] of literal) put(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try { closeSync(fd); } catch { /* closed */ }
    try { unlinkSync(tmp); } catch { /* gone */ }
    throw e;
  }
  return { bytes: 8 + Buffer.byteLength(json) + off, tensors: s.specs.length + literal.length, params };
}

/**
 * Drops the file's pages from the page cache (posix_fadvise DONTNEED through GNU dd; no root needed) so the
 * next read comes from the disk. Returns false where that is not available (the "cold" numbers are then warm).
 */
export function evictFromPageCache(path: string): boolean {
  const sync = spawnSync('sync', [path]);
  const dd = spawnSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']);
  return sync.status === 0 && dd.status === 0;
}

/** Percent of the file in the page cache (util-linux fincore), or undefined where it is missing. */
export function cachedPercent(path: string, size: number): number | undefined {
  const r = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return (100 * Number(r.stdout.trim())) / size;
}

/** Reads bytes [start, end) of the file in 64 MiB chunks: the lower bound of any load of those bytes. */
export function readRange(path: string, start: number, end: number): void {
  const buf = Buffer.allocUnsafe(64 * 1024 * 1024);
  const fd = openSync(path, 'r');
  try {
    for (let pos = start; pos < end;) {
      const n = readSync(fd, buf, 0, Math.min(buf.byteLength, end - pos), pos);
      if (n <= 0) break;
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}

export interface Timed<T> { value: T; wall: number; cpu: number }

/** Wall seconds and this process's CPU seconds (all threads: workers and ORT's pool included). */
export async function timed<T>(fn: () => T | Promise<T>): Promise<Timed<T>> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { value, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

export const fmtT = (t: Timed<unknown>): string => `${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU`;

/** RSS split (Linux /proc/self/status), in bytes; undefined elsewhere. */
export function rssSplit(): { anon: number; file: number } | undefined {
  try {
    const s = readFileSync('/proc/self/status', 'utf8');
    const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
    return { anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return undefined;
  }
}

/**
 * Samples RSS every `ms` on this thread (free while sessions run in worker threads) and keeps the
 * peak with its anon/file split. process.resourceUsage().maxRSS gives the lifetime peak as a cross-check.
 */
export class RssSampler {
  peak = 0;
  peakSplit: { anon: number; file: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly ms = 50) {}
  sample(): void {
    const r = process.memoryUsage.rss();
    if (r > this.peak) { this.peak = r; this.peakSplit = rssSplit(); }
  }
  start(): this {
    this.peak = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.ms);
    return this;
  }
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
  describe(): string {
    const s = this.peakSplit;
    return `${gib(this.peak)}${s ? ` (anon ${gib(s.anon)} + file-backed ${gib(s.file)})` : ''}`;
  }
}

export const maxRss = (): number => process.resourceUsage().maxRSS * 1024;
export const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
