import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import { blurImage, gaussianKernel1d, sharpenImage } from '../../../engine/tensor/filters.ts';
import { bayerMatrix, medianCutPalette, quantizeImage } from '../../../engine/tensor/quantize.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';

/** ComfyUI's 2-D kernel: meshgrid of linspace(−1, 1), radial distance, gaussian, normalised. */
function kernel2d(size: number, sigma: number): number[][] {
  const lin = Array.from({ length: size }, (_, i) => -1 + (2 * i) / (size - 1));
  const g = lin.map((x) => lin.map((y) => Math.exp(-(x * x + y * y) / (2 * sigma * sigma))));
  const sum = g.flat().reduce((a, b) => a + b, 0);
  return g.map((row) => row.map((v) => v / sum));
}

/** torch-style reflect pad by r, then zero pad by r for conv2d(padding=r), full conv, crop r each side. */
function convLikeComfy(img: Tensor, k: number[][], r: number): Float64Array {
  const [b, h, w, c] = img.shape;
  const refl = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const ph = h + 4 * r;
  const pw = w + 4 * r;
  const out = new Float64Array(img.data.length);
  for (let n = 0; n < b; n++) {
    for (let ch = 0; ch < c; ch++) {
      const padded = (y: number, x: number) => {
        if (y < r || y >= ph - r || x < r || x >= pw - r) return 0;
        return img.data[((n * h + refl(y - 2 * r, h)) * w + refl(x - 2 * r, w)) * c + ch];
      };
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          // conv output index (y + r, x + r) after cropping r, with the kernel anchored at its top-left.
          let acc = 0;
          for (let i = 0; i <= 2 * r; i++) for (let j = 0; j <= 2 * r; j++) acc += k[i][j] * padded(y + r + i, x + r + j);
          out[((n * h + y) * w + x) * c + ch] = acc;
        }
      }
    }
  }
  return out;
}

const rand = (shape: number[], seed: number) => {
  let s = seed;
  return tensor(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648)));
};

test('gaussianKernel1d is the normalised 1-D factor of ComfyUI\'s kernel', () => {
  const k = gaussianKernel1d(3, 1);
  const e = Math.exp(-0.5);
  assert.ok(Math.abs(k[0] - e / (1 + 2 * e)) < 1e-12 && Math.abs(k[1] - 1 / (1 + 2 * e)) < 1e-12 && k[0] === k[2]);
  const k2 = kernel2d(5, 0.7);
  const k1 = gaussianKernel1d(5, 0.7);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) assert.ok(Math.abs(k1[i] * k1[j] - k2[i][j]) < 1e-12);
});

test('ImageBlur of a constant image is constant', () => {
  const img = tensor([2, 5, 6, 3], new Float32Array(180).fill(0.37));
  const out = blurImage(img, 3, 2.5);
  assert.ok(out.data.every((v) => Math.abs(v - 0.37) < 1e-6));
});

test('ImageBlur matches a direct 2-D reflect-padded convolution built like ComfyUI', () => {
  const img = rand([2, 7, 9, 3], 7);
  for (const [r, sigma] of [[1, 1], [3, 0.6], [6, 10]] as const) {
    const want = convLikeComfy(img, kernel2d(2 * r + 1, sigma), r);
    const got = blurImage(img, r, sigma).data;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `r=${r} [${i}] ${got[i]} vs ${want[i]}`);
  }
  assert.equal(blurImage(img, 0, 1), img);
  assert.throws(() => blurImage(img, 7, 1), (e: WeftError) => e.input === 'blur_radius' && /blur_radius/.test(e.message));
});

test('ImageSharpen matches ComfyUI\'s kernel (−10α·G, centre + 1 + 10α), clamped', () => {
  const img = rand([1, 6, 5, 3], 11);
  for (const [r, sigma, alpha] of [[1, 1, 1], [2, 0.5, 0.3]] as const) {
    const k = kernel2d(2 * r + 1, sigma).map((row) => row.map((v) => v * -(alpha * 10)));
    const sum = k.flat().reduce((a, b) => a + b, 0);
    k[r][r] = k[r][r] - sum + 1;
    const want = convLikeComfy(img, k, r).map((v) => Math.min(Math.max(v, 0), 1));
    const got = sharpenImage(img, r, sigma, alpha).data;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `[${i}] ${got[i]} vs ${want[i]}`);
  }
  assert.throws(() => sharpenImage(img, 6, 1, 1), (e: WeftError) => e.input === 'sharpen_radius');
});

test('bayerMatrix: the 2×2 case by hand; 4×4 holds 16 evenly spaced thresholds', () => {
  assert.deepEqual([...bayerMatrix(1)], [-0.375, 0.125, 0.375, -0.125]);
  const m = [...bayerMatrix(2)].sort((a, b) => a - b);
  m.forEach((v, k) => assert.ok(Math.abs(v - ((k + 0.5) / 16 - 0.5)) < 1e-12));
});

test('median cut: few colours survive exactly, one colour is the weighted mean', () => {
  const px = Uint32Array.from([0x102030, 0x102030, 0x102030, 0xf0e0d0]);
  const pal = medianCutPalette(px, 4);
  assert.deepEqual(new Set([0, 1].map((i) => [...pal.subarray(i * 3, i * 3 + 3)].join())), new Set(['16,32,48', '240,224,208']));
  // (3·16 + 240)/4 = 72, (3·32 + 224)/4 = 80, (3·48 + 208)/4 = 88.
  assert.deepEqual([...medianCutPalette(px, 1)], [72, 80, 88]);
});

test('ImageQuantize: exact for few colours; "none" maps each pixel to its nearest palette colour', () => {
  const two = tensor([1, 2, 2, 3], [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  assert.deepEqual([...quantizeImage(two, 2, 'none').data], [...two.data]);
  const img = rand([1, 8, 8, 3], 3);
  const out = quantizeImage(img, 4, 'none');
  const colours = new Map<string, number[]>();
  for (let i = 0; i < 64; i++) colours.set([...out.data.subarray(i * 3, i * 3 + 3)].join(), [...out.data.subarray(i * 3, i * 3 + 3)]);
  assert.ok(colours.size <= 4 && colours.size > 1);
  for (let i = 0; i < 64; i++) {
    const p = [...img.data.subarray(i * 3, i * 3 + 3)].map((v) => Math.trunc(Math.fround(v * 255)));
    const d = (c: number[]) => c.reduce((s, v, k) => s + (Math.round(v * 255) - p[k]) ** 2, 0);
    const best = Math.min(...[...colours.values()].map(d));
    assert.equal(d([...out.data.subarray(i * 3, i * 3 + 3)]), best, `pixel ${i}`);
  }
});

test('ImageQuantize dithering mixes palette colours where "none" cannot', () => {
  // 9 black rows, 2 mid-grey rows, 9 white rows: median cut at 2 colours merges grey into the dark
  // box, so its palette entry is (127·10%)/55% ≈ 23 and undithered grey collapses to it.
  const h = 20;
  const w = 40;
  const row = (r: number) => (r < 9 ? 0 : r < 11 ? 127.5 / 255 : 1);
  const img = tensor([1, h, w, 3], Array.from({ length: h * w * 3 }, (_, i) => row(Math.floor(i / (w * 3)))));
  const greyMean = (t: Tensor) => t.data.subarray(9 * w * 3, 11 * w * 3).reduce((a, b) => a + b, 0) / (2 * w * 3);
  const none = quantizeImage(img, 2, 'none');
  assert.ok(Math.abs(greyMean(none) - 23 / 255) < 0.01, `none: ${greyMean(none)}`);
  for (const dither of ['floyd-steinberg', 'bayer-4', 'bayer-16']) {
    const out = quantizeImage(img, 2, dither);
    assert.ok(new Set(out.data).size <= 2, dither);
    assert.ok(Math.abs(greyMean(out) - 0.5) < 0.1, `${dither}: ${greyMean(out)}`);
    assert.ok(out.data.subarray(0, 9 * w * 3).every((v) => v === out.data[0]), `${dither}: black rows stay one colour`);
  }
  assert.throws(() => quantizeImage(img, 2, 'atkinson'), (e: WeftError) => e.input === 'dither');
  assert.throws(() => quantizeImage(tensor([1, 2, 2, 4]), 2, 'none'), (e: WeftError) => e.input === 'image');
});
