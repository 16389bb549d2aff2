import { test } from 'node:test';
import assert from 'node:assert/strict';
import { centerCropBox, commonUpscale, pyRound, upscaleImage, IMAGE_UPSCALE_METHODS, type UpscaleMethod } from '../../../engine/tensor/upscale.ts';
import { lanczosPlane8 } from '../../../engine/tensor/resample.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';

const nchw = (h: number, w: number, values: number[]): Tensor => ({ shape: [1, 1, h, w], data: Float32Array.from(values) });

function close(actual: ArrayLike<number>, expected: number[], eps = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= eps, `[${i}] ${actual[i]} vs ${expected[i]}`);
}

test('bilinear 2×2→4×4 matches torch interpolate(align_corners=False)', () => {
  const out = commonUpscale(nchw(2, 2, [0, 1, 2, 3]), 4, 4, 'bilinear');
  assert.deepEqual(out.shape, [1, 1, 4, 4]);
  // torch: source x = (o + 0.5)/2 − 0.5, clamped at 0; edges replicate.
  close(out.data, [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
});

test('bicubic uses Keys A=−0.75 with clamped borders (corner overshoot as torch)', () => {
  const out = commonUpscale(nchw(2, 2, [0, 1, 2, 3]), 4, 4, 'bicubic');
  // Output 0 samples x = −0.25: weights cc2(1.75)=−0.03515625, cc1(0.75)=0.26171875,
  // cc1(0.25)=0.87890625, cc2(1.25)=−0.10546875 over indices [0,0,0,1]; the 2-D corner is −0.10546875·3.
  assert.ok(Math.abs(out.data[0] - -0.31640625) < 1e-6, String(out.data[0]));
  assert.ok(Math.abs(out.data[15] - 3.31640625) < 1e-6, String(out.data[15]));
  // One row [0,1]: x = 0.25 uses weights [cc2(1.25), cc1(0.25), cc1(0.75), cc2(1.75)] on [0,0,1,1].
  const row = commonUpscale(nchw(1, 2, [0, 1]), 4, 1, 'bicubic');
  close(row.data, [-0.10546875, 0.26171875 - 0.03515625, 0.87890625 - 0.10546875, 1.10546875]);
});

test('nearest-exact picks floor((o+0.5)·in/out)', () => {
  const out = commonUpscale(nchw(2, 2, [0, 1, 2, 3]), 3, 3, 'nearest-exact');
  assert.deepEqual([...out.data], [0, 1, 1, 2, 3, 3, 2, 3, 3]);
  const down = commonUpscale(nchw(1, 4, [0, 1, 2, 3]), 2, 1, 'nearest-exact');
  assert.deepEqual([...down.data], [1, 3]);
});

test('area downscale averages adaptive-pooling windows', () => {
  const img = nchw(4, 4, [1, 3, 5, 7, 9, 11, 13, 15, 2, 4, 6, 8, 10, 12, 14, 16]);
  close(commonUpscale(img, 2, 2, 'area').data, [(1 + 3 + 9 + 11) / 4, (5 + 7 + 13 + 15) / 4, (2 + 4 + 10 + 12) / 4, (6 + 8 + 14 + 16) / 4]);
  // 3 → 2 overlapping windows {0,1} and {1,2}.
  close(commonUpscale(nchw(1, 3, [0, 3, 9]), 2, 1, 'area').data, [1.5, 6]);
});

test('pyRound rounds halves to even like Python 3', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.6, 2.4].map(pyRound), [0, 2, 2, -0, -2, 3, 2]);
});

test('centre crop trims the longer side symmetrically (Python rounding)', () => {
  assert.deepEqual(centerCropBox(4, 2, 1, 1), { x: 1, y: 0, w: 2, h: 2 });
  // (5 − 5·(1/2.5))/2 = 1.5 → round → 2.
  assert.deepEqual(centerCropBox(5, 2, 1, 1), { x: 2, y: 0, w: 1, h: 2 });
  assert.deepEqual(centerCropBox(2, 6, 2, 2), { x: 0, y: 2, w: 2, h: 2 });
  const src = nchw(2, 4, [0, 1, 2, 3, 4, 5, 6, 7]);
  const out = commonUpscale(src, 2, 2, 'nearest-exact', 'center');
  assert.deepEqual([...out.data], [1, 2, 5, 6]);
});

test('NHWC entry point equals the NCHW core for every method', () => {
  const [n, h, w, c] = [2, 5, 7, 3];
  const nhwc = new Float32Array(n * h * w * c);
  for (let i = 0; i < nhwc.length; i++) nhwc[i] = ((i * 7919) % 256) / 255;
  const asNchw = new Float32Array(nhwc.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    asNchw[((b * c + k) * h + y) * w + x] = nhwc[((b * h + y) * w + x) * c + k];
  }
  for (const m of IMAGE_UPSCALE_METHODS) {
    for (const crop of ['disabled', 'center'] as const) {
      const a = upscaleImage({ shape: [n, h, w, c], data: nhwc }, 11, 4, m as UpscaleMethod, crop);
      const b = commonUpscale({ shape: [n, c, h, w], data: asNchw }, 11, 4, m as UpscaleMethod, crop);
      assert.deepEqual(a.shape, [n, 4, 11, c]);
      for (let bb = 0; bb < n; bb++) for (let y = 0; y < 4; y++) for (let x = 0; x < 11; x++) for (let k = 0; k < c; k++) {
        assert.equal(a.data[((bb * 4 + y) * 11 + x) * c + k], b.data[((bb * c + k) * 4 + y) * 11 + x], `${m}/${crop}`);
      }
    }
  }
});

test('same-size bilinear/bicubic/area/nearest is the identity', () => {
  const src = nchw(3, 3, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  for (const m of ['bilinear', 'bicubic', 'area', 'nearest-exact'] as const) assert.deepEqual([...commonUpscale(src, 3, 3, m).data], [...src.data], m);
});

test('lanczos follows PIL: 8-bit, fixed-point taps, hand-computed 2→4 values', () => {
  // Taps for output 1 (centre 0.75): lanczos(−0.25)=0.890067, lanczos(0.75)=0.270190 → 0.23287·255 = 59.4.
  assert.deepEqual([...lanczosPlane8(Uint8Array.from([0, 255]), 1, 2, 1, 4)], [0, 59, 196, 255]);
  const img: Tensor = { shape: [1, 1, 2, 3], data: Float32Array.from([0, 0, 0, 1, 1, 1]) };
  const out = upscaleImage(img, 4, 1, 'lanczos');
  assert.deepEqual([...out.data].map((v) => Math.round(v * 255)), [0, 0, 0, 59, 59, 59, 196, 196, 196, 255, 255, 255]);
  // A flat image stays exactly flat after 8-bit quantisation (0.5 → 127, truncated like ComfyUI).
  const flat = upscaleImage({ shape: [1, 6, 6, 3], data: new Float32Array(108).fill(0.5) }, 4, 9, 'lanczos');
  assert.ok(flat.data.every((v) => v === Math.fround(127 / 255)));
});

test('bislerp keeps integer source coordinates and blends vectors by angle', () => {
  // Two channel vectors at 90°, equal norm: the midpoint keeps the norm (slerp) instead of shrinking.
  const t: Tensor = { shape: [1, 2, 1, 2], data: Float32Array.from([1, 0, 0, 1]) };
  const out = commonUpscale(t, 4, 1, 'bislerp');
  assert.deepEqual(out.shape, [1, 2, 1, 4]);
  const vec = (x: number) => [out.data[x], out.data[4 + x]];
  assert.deepEqual(vec(0), [1, 0]);
  assert.deepEqual(vec(3), [0, 1]);
  // Output 1 sits at x = 0.25: slerp by 0.25 of 90° → (cos 22.5°, sin 22.5°).
  close(vec(1), [Math.cos(Math.PI / 8), Math.sin(Math.PI / 8)], 1e-6);
  close(vec(2), [Math.cos((3 * Math.PI) / 8), Math.sin((3 * Math.PI) / 8)], 1e-6);
});

test('invalid targets are refused', () => {
  assert.throws(() => commonUpscale(nchw(2, 2, [0, 1, 2, 3]), 0, 2, 'bilinear'), /positive/);
  assert.throws(() => upscaleImage({ shape: [1, 2, 2, 3], data: new Float32Array(12) }, 2, 2, 'bislerp'), /NCHW/);
});
