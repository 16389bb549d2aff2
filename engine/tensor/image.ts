/**
 * Image files ↔ IMAGE/MASK tensors with ComfyUI's conventions (LoadImage / SaveImage in nodes.py):
 * IMAGE is [B,H,W,3] float32 in [0,1], MASK is 1 − alpha, a 64×64 zero mask when there is no alpha,
 * EXIF orientation applied, frames of a multi-frame file stacked when their size matches the first.
 * Embedded ICC profiles are ignored, as PIL's convert("RGB") ignores them.
 */
import sharp, { type Metadata, type OutputInfo, type Sharp, type SharpOptions } from 'sharp';
import { readFile } from 'node:fs/promises';
import { WeftError, errorMessage } from '../errors.ts';
import type { Tensor } from './tensor.ts';
import { BYTE_TO_FLOAT, toByte, wordToFloat } from './pixels.ts';

/** One decoded frame: interleaved samples with 1–4 channels (grey, grey+alpha, RGB, RGBA). */
export interface RawFrame {
  width: number;
  height: number;
  channels: number;
  /** Samples normalised to [0,1]. */
  data: Float32Array;
}

export interface DecodedImage {
  image: Tensor;
  mask: Tensor;
}

type Depth = 'uchar' | 'ushort';

function normalise(buf: Buffer, depth: Depth): Float32Array {
  if (depth === 'ushort') {
    const lut = wordToFloat();
    const words = new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength >> 1);
    const out = new Float32Array(words.length);
    for (let i = 0; i < words.length; i++) out[i] = lut[words[i]];
    return out;
  }
  const out = new Float32Array(buf.length);
  for (let i = 0; i < buf.length; i++) out[i] = BYTE_TO_FLOAT[buf[i]];
  return out;
}

function pipeline(bytes: Uint8Array, opts: SharpOptions, space: string | undefined, depth: Depth, orient: boolean): Sharp {
  let s = sharp(bytes, { ignoreIcc: true, ...opts });
  if (orient) s = s.autoOrient();
  // sharp's output defaults to 8-bit sRGB and raw({depth}) only casts, so 16-bit data must stay
  // in its 16-bit space; CMYK/Lab/… become sRGB as with PIL's convert("RGB").
  if (depth === 'ushort') s = s.toColourspace(space === 'grey16' || space === 'b-w' ? 'grey16' : 'rgb16');
  else if (space && !['srgb', 'rgb', 'b-w'].includes(space)) s = s.toColourspace('srgb');
  return s;
}

/** Decodes every frame of an image file (sharp formats: PNG, JPEG, WebP, GIF, TIFF, AVIF, …). */
export async function decodeFrames(bytes: Uint8Array, what = 'image'): Promise<RawFrame[]> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (e) {
    throw new WeftError(`cannot read ${what}: ${errorMessage(e)}`, { type: 'invalid_image', file: what });
  }
  const depth: Depth = meta.depth === 'ushort' ? 'ushort' : 'uchar';
  const pages = meta.pages ?? 1;
  const orient = (meta.orientation ?? 1) !== 1;
  const decode = async (opts: SharpOptions): Promise<{ info: OutputInfo; data: Float32Array }> => {
    const { data, info } = await pipeline(bytes, opts, meta.space, depth, orient).raw({ depth }).toBuffer({ resolveWithObject: true });
    return { info, data: normalise(data, depth) };
  };
  try {
    if (pages <= 1) {
      const { info, data } = await decode({});
      return [{ width: info.width, height: info.height, channels: info.channels, data }];
    }
    if (!orient) {
      // All frames at once (GIF/WebP frames share the canvas size); falls back to per-page below.
      try {
        const { info, data } = await decode({ pages: -1 });
        const ph = meta.pageHeight ?? info.height / pages;
        const n = Math.floor(info.height / ph);
        const per = ph * info.width * info.channels;
        return Array.from({ length: n }, (_, i) => ({
          width: info.width,
          height: ph,
          channels: info.channels,
          data: data.subarray(i * per, (i + 1) * per),
        }));
      } catch {
        /* pages differ in size */
      }
    }
    const frames: RawFrame[] = [];
    for (let p = 0; p < pages; p++) {
      const { info, data } = await decode({ page: p });
      frames.push({ width: info.width, height: info.height, channels: info.channels, data });
    }
    return frames;
  } catch (e) {
    if (e instanceof WeftError) throw e;
    throw new WeftError(`cannot decode ${what}: ${errorMessage(e)}`, { type: 'invalid_image', file: what });
  }
}

/** RGB (grey expanded) of a frame into out at offset, and its alpha as 1 − alpha into mask (if any). */
function splitFrame(f: RawFrame, rgb: Float32Array, rgbAt: number, mask: Float32Array | undefined, maskAt: number): void {
  const c = f.channels;
  const n = f.width * f.height;
  const d = f.data;
  const grey = c < 3;
  const alpha = c === 2 || c === 4 ? c - 1 : -1;
  for (let i = 0, s = 0, o = rgbAt; i < n; i++, s += c, o += 3) {
    rgb[o] = d[s];
    rgb[o + 1] = grey ? d[s] : d[s + 1];
    rgb[o + 2] = grey ? d[s] : d[s + 2];
    if (mask && alpha >= 0) mask[maskAt + i] = 1 - d[s + alpha];
  }
}

/**
 * LoadImage's decoding: IMAGE [B,H,W,3] and MASK (1 − alpha, [B,H,W]; [B,64,64] zeros without
 * alpha). Frames whose size differs from the first are skipped, as ComfyUI does.
 */
export async function decodeImage(bytes: Uint8Array, what = 'image'): Promise<DecodedImage> {
  const all = await decodeFrames(bytes, what);
  const first = all[0];
  const frames = all.filter((f) => f.width === first.width && f.height === first.height);
  const { width: w, height: h } = first;
  const hasAlpha = first.channels === 2 || first.channels === 4;
  const b = frames.length;
  const rgb = new Float32Array(b * h * w * 3);
  const mask = new Float32Array(hasAlpha ? b * h * w : b * 64 * 64);
  frames.forEach((f, i) => splitFrame(f, rgb, i * h * w * 3, hasAlpha ? mask : undefined, i * h * w));
  return {
    image: { shape: [b, h, w, 3], data: rgb },
    mask: { shape: hasAlpha ? [b, h, w] : [b, 64, 64], data: mask },
  };
}

export async function decodeImageFile(path: string, what = path): Promise<DecodedImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new WeftError(`cannot read ${what}: ${errorMessage(e)}`, { type: 'file_not_found', file: what });
  }
  return decodeImage(bytes, what);
}

export type MaskChannel = 'alpha' | 'red' | 'green' | 'blue';

/**
 * LoadImageMask's decoding: the first frame as RGBA, one channel as [1,H,W]; alpha is inverted.
 * An image without alpha reads as opaque, so its alpha mask is all zeros at full size.
 */
export async function decodeMaskChannel(bytes: Uint8Array, channel: MaskChannel, what = 'image'): Promise<Tensor> {
  const [f] = await decodeFrames(bytes, what);
  const n = f.width * f.height;
  const c = f.channels;
  const out = new Float32Array(n);
  const hasAlpha = c === 2 || c === 4;
  const src = channel === 'alpha' ? (hasAlpha ? c - 1 : -1) : c < 3 ? 0 : ['red', 'green', 'blue'].indexOf(channel);
  if (channel === 'alpha') {
    for (let i = 0; i < n; i++) out[i] = src < 0 ? 0 : 1 - f.data[i * c + src];
  } else {
    for (let i = 0; i < n; i++) out[i] = f.data[i * c + src];
  }
  return { shape: [1, f.height, f.width], data: out };
}

/** One batch element of an IMAGE as 8-bit interleaved samples, converted like ComfyUI's savers. */
export function imageToBytes(image: Tensor, index = 0): { data: Uint8Array; width: number; height: number; channels: 1 | 3 | 4 } {
  if (image.shape.length !== 4) throw new WeftError(`expected an IMAGE [B,H,W,C], got shape [${image.shape.join(', ')}]`);
  const [b, h, w, c] = image.shape;
  if (index < 0 || index >= b) throw new WeftError(`image index ${index} out of range for a batch of ${b}`);
  if (c !== 1 && c !== 3 && c !== 4) throw new WeftError(`cannot encode an image with ${c} channels (1, 3 or 4 expected)`);
  const n = h * w * c;
  const src = image.data.subarray(index * n, (index + 1) * n);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = toByte(src[i]);
  return { data, width: w, height: h, channels: c as 1 | 3 | 4 };
}

export interface PngOptions {
  /** zlib level: 4 for SaveImage, 1 for PreviewImage (ComfyUI's compress_level). */
  compressionLevel?: number;
}

/** Encodes one batch element of an IMAGE as an 8-bit PNG (no metadata; see engine/io/png.ts). */
export async function encodePng(image: Tensor, index = 0, opts: PngOptions = {}): Promise<Uint8Array> {
  const { data, width, height, channels } = imageToBytes(image, index);
  let s = sharp(data, { raw: { width, height, channels } });
  if (channels === 1) s = s.toColourspace('b-w');
  const buf = await s.png({ compressionLevel: opts.compressionLevel ?? 4, adaptiveFiltering: false }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** ImageInvert: 1 − x for every sample. */
export function invertImage(image: Tensor): Tensor {
  const out = new Float32Array(image.data.length);
  const d = image.data;
  for (let i = 0; i < d.length; i++) out[i] = 1 - d[i];
  return { shape: [...image.shape], data: out };
}
