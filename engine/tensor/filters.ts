/**
 * ComfyUI's post-processing filters (comfy_extras/nodes_post_processing.py) on IMAGE tensors.
 *
 * Blur: ComfyUI builds a (2r+1)² gaussian on torch.linspace(−1, 1, 2r+1) — so sigma is measured
 * in half-kernel units, not pixels — normalises it, reflect-pads by r and convolves. That kernel
 * is the outer product of a 1-D gaussian, so it is applied here as two 1-D passes.
 * Sharpen: kernel −10α·G with 1 + 10α added at the centre, i.e. img + 10α·(img − blur(img)).
 */
import { WeftError } from '../errors.ts';
import { checkImage } from './imageops.ts';
import type { Tensor } from './tensor.ts';

/** The normalised 1-D factor of ComfyUI's 2-D gaussian_kernel(size, sigma). */
export function gaussianKernel1d(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = size === 1 ? -1 : -1 + (2 * i) / (size - 1);
    k[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
    sum += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= sum;
  return k;
}

/** Source index of every tap along an axis of length n, reflect-padded by r ('reflect': no edge repeat). */
function reflectTable(n: number, r: number): Int32Array {
  const t = new Int32Array(n * (2 * r + 1));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k <= 2 * r; k++) {
      let j = i + k - r;
      if (j < 0) j = -j;
      else if (j >= n) j = 2 * (n - 1) - j;
      t[i * (2 * r + 1) + k] = j;
    }
  }
  return t;
}

/** Separable gaussian blur of an NHWC tensor with ComfyUI's kernel and reflect padding. */
export function gaussianBlur(image: Tensor, radius: number, sigma: number, input = 'blur_radius'): Float64Array {
  const [b, h, w, c] = checkImage(image, 'image');
  if (radius >= h || radius >= w) {
    throw new WeftError(`${input}: ${radius} must be smaller than the image's width and height (${w}×${h}) for reflect padding`, { input });
  }
  const size = 2 * radius + 1;
  const k = gaussianKernel1d(size, sigma);
  const tx = reflectTable(w, radius);
  const ty = reflectTable(h, radius);
  const tmp = new Float64Array(image.data.length);
  const out = new Float64Array(image.data.length);
  const src = image.data;
  for (let n = 0; n < b; n++) {
    const base = n * h * w * c;
    for (let y = 0; y < h; y++) {
      const row = base + y * w * c;
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (let t = 0; t < size; t++) acc += k[t] * src[row + tx[x * size + t] * c + ch];
          tmp[row + x * c + ch] = acc;
        }
      }
    }
    // Vertical pass row by row so every tap reads a contiguous source row.
    const rowLen = w * c;
    for (let y = 0; y < h; y++) {
      const dst = base + y * rowLen;
      for (let t = 0; t < size; t++) {
        const from = base + ty[y * size + t] * rowLen;
        const kt = k[t];
        for (let i = 0; i < rowLen; i++) out[dst + i] += kt * tmp[from + i];
      }
    }
  }
  return out;
}

/** ImageBlur; radius 0 returns the image unchanged. */
export function blurImage(image: Tensor, radius: number, sigma: number): Tensor {
  if (radius === 0) return image;
  return { shape: [...image.shape], data: Float32Array.from(gaussianBlur(image, radius, sigma)) };
}

/** ImageSharpen (unsharp mask), clamped to [0,1]; radius 0 returns the image unchanged. */
export function sharpenImage(image: Tensor, radius: number, sigma: number, alpha: number): Tensor {
  if (radius === 0) return image;
  const blurred = gaussianBlur(image, radius, sigma, 'sharpen_radius');
  const a = 10 * alpha;
  const out = new Float32Array(image.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = (1 + a) * image.data[i] - a * blurred[i];
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { shape: [...image.shape], data: out };
}
