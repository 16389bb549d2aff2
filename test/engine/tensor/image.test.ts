import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImage, decodeMaskChannel, encodePng, imageToBytes, invertImage } from '../../../engine/tensor/image.ts';
import { toByte } from '../../../engine/tensor/pixels.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';

const px = (t: Tensor, x: number, y: number, b = 0) => {
  const [, h, w, c] = t.shape;
  const o = ((b * h + y) * w + x) * c;
  return [...t.data.subarray(o, o + c)].map((v) => Math.round(v * 255));
};

test('RGBA PNG: IMAGE is RGB in [0,1], MASK is 1 − alpha', async () => {
  const raw = Buffer.from([255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 10, 20, 30, 255]);
  const png = await sharp(raw, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer();
  const { image, mask } = await decodeImage(png);
  assert.deepEqual(image.shape, [1, 2, 2, 3]);
  assert.deepEqual(mask.shape, [1, 2, 2]);
  assert.deepEqual(px(image, 1, 0), [0, 255, 0]);
  assert.deepEqual(px(image, 1, 1), [10, 20, 30]);
  assert.equal(image.data[0], 1);
  assert.deepEqual([...mask.data], [0, 1 - Math.fround(128 / 255), 1, 0].map(Math.fround));
});

test('grey PNG expands to three equal channels; no alpha gives a 64×64 zero mask', async () => {
  const png = await sharp(Buffer.from([0, 64, 128, 255]), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  assert.equal((await sharp(png).metadata()).channels, 1);
  const { image, mask } = await decodeImage(png);
  assert.deepEqual(px(image, 1, 0), [64, 64, 64]);
  assert.deepEqual(px(image, 0, 1), [128, 128, 128]);
  assert.deepEqual(mask.shape, [1, 64, 64]);
  assert.ok(mask.data.every((v) => v === 0));
});

test('16-bit PNGs keep their precision (v / 65535)', async () => {
  const grey = await sharp(new Uint16Array([0, 1000, 65535, 30000]), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('grey16').png().toBuffer();
  assert.equal((await sharp(grey).metadata()).depth, 'ushort');
  const g = await decodeImage(grey);
  assert.equal(g.image.data[3], Math.fround(1000 / 65535));
  assert.equal(g.image.data[6], 1);
  const rgb = await sharp(new Uint16Array([1, 2, 3, 40000, 50000, 60000, 0, 0, 0, 65535, 65535, 65535]), { raw: { width: 2, height: 2, channels: 3 } })
    .toColourspace('rgb16').png().toBuffer();
  const r = await decodeImage(rgb);
  assert.deepEqual([...r.image.data.subarray(3, 6)], [40000, 50000, 60000].map((v) => Math.fround(v / 65535)));
});

test('JPEG decodes close to its source colours', async () => {
  const jpg = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 100, b: 50 } } }).jpeg({ quality: 100 }).toBuffer();
  const { image } = await decodeImage(jpg);
  assert.deepEqual(image.shape, [1, 16, 16, 3]);
  const [r, g, b] = px(image, 7, 7);
  assert.ok(Math.abs(r - 200) <= 2 && Math.abs(g - 100) <= 2 && Math.abs(b - 50) <= 2, `${r},${g},${b}`);
});

test('EXIF orientation is applied (6 = rotate 90° clockwise)', async () => {
  // 16×8: left half red, right half blue. Rotated clockwise the left edge becomes the top.
  const raw = Buffer.alloc(16 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) raw.set(x < 8 ? [255, 0, 0] : [0, 0, 255], (y * 16 + x) * 3);
  const jpg = await sharp(raw, { raw: { width: 16, height: 8, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
  assert.equal((await sharp(jpg).metadata()).orientation, 6);
  const { image } = await decodeImage(jpg);
  assert.deepEqual(image.shape, [1, 16, 8, 3]);
  const top = px(image, 4, 2);
  const bottom = px(image, 4, 13);
  assert.ok(top[0] > 200 && top[2] < 50, `top ${top}`);
  assert.ok(bottom[2] > 200 && bottom[0] < 50, `bottom ${bottom}`);
});

test('palette PNG with transparency yields a mask', async () => {
  const raw = Buffer.from([255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 255, 0, 255, 0, 0]);
  const png = await sharp(raw, { raw: { width: 2, height: 2, channels: 4 } }).png({ palette: true }).toBuffer();
  assert.equal((await sharp(png).metadata()).isPalette, true);
  const { mask } = await decodeImage(png);
  assert.deepEqual([...mask.data], [0, 1, 0, 1]);
});

test('animated WebP frames become a batch', async () => {
  const frame = (r: number) => sharp({ create: { width: 4, height: 3, channels: 3, background: { r, g: 0, b: 0 } } }).png().toBuffer();
  const webp = await sharp([await frame(255), await frame(0)], { join: { animated: true } }).webp({ lossless: true }).toBuffer();
  assert.equal((await sharp(webp).metadata()).pages, 2);
  const { image, mask } = await decodeImage(webp);
  assert.deepEqual(image.shape, [2, 3, 4, 3]);
  assert.deepEqual(px(image, 1, 1, 0).slice(0, 1), [255]);
  assert.deepEqual(px(image, 1, 1, 1).slice(0, 1), [0]);
  assert.equal(mask.shape[0], 2);
});

test('encode → decode round-trips every 8-bit value exactly', async () => {
  const w = 256;
  const bytes = new Uint8Array(w * 2 * 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + (i >> 3)) & 255;
  const src = await sharp(Buffer.from(bytes), { raw: { width: w, height: 2, channels: 3 } }).png().toBuffer();
  const { image } = await decodeImage(src);
  const again = await decodeImage(await encodePng(image));
  assert.deepEqual(again.image.data, image.data);
  assert.deepEqual(imageToBytes(image).data, bytes);
});

test('float → byte truncates like numpy astype(uint8) after clip', () => {
  assert.equal(toByte(0.999), 254);
  assert.equal(toByte(1), 255);
  assert.equal(toByte(1.7), 255);
  assert.equal(toByte(-0.2), 0);
  assert.equal(toByte(Number.NaN), 0);
  assert.equal(toByte(0.5), 127);
  assert.equal(toByte(Math.fround(200 / 255)), 200);
});

test('encodePng writes the requested batch element', async () => {
  const data = new Float32Array(2 * 1 * 1 * 3);
  data.set([1, 0, 0, 0, 0, 1]);
  const png = await encodePng({ shape: [2, 1, 1, 3], data }, 1, { compressionLevel: 1 });
  const { data: raw } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([...raw], [0, 0, 255]);
  await assert.rejects(encodePng({ shape: [1, 1, 1, 2], data: new Float32Array(2) }), /channels/);
});

test('mask channels: red as-is, alpha inverted, opaque alpha is zeros at full size', async () => {
  const rgba = await sharp(Buffer.from([51, 0, 0, 0, 102, 0, 0, 255]), { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
  assert.deepEqual([...(await decodeMaskChannel(rgba, 'red')).data], [51, 102].map((v) => Math.fround(v / 255)));
  assert.deepEqual([...(await decodeMaskChannel(rgba, 'alpha')).data], [1, 0]);
  const rgb = await sharp(Buffer.from([1, 2, 3, 4, 5, 6]), { raw: { width: 2, height: 1, channels: 3 } }).png().toBuffer();
  const a = await decodeMaskChannel(rgb, 'alpha');
  assert.deepEqual(a.shape, [1, 1, 2]);
  assert.deepEqual([...a.data], [0, 0]);
  assert.deepEqual([...(await decodeMaskChannel(rgb, 'blue')).data], [3, 6].map((v) => Math.fround(v / 255)));
});

test('invalid bytes give a WeftError naming the file', async () => {
  await assert.rejects(decodeImage(Buffer.from('not an image'), 'broken.png'), (e: Error) => e.name === 'WeftError' && /broken\.png/.test(e.message));
});

test('invertImage is 1 − x', () => {
  const out = invertImage({ shape: [1, 1, 1, 3], data: Float32Array.from([0, 0.25, 1]) });
  assert.deepEqual([...out.data], [1, 0.75, 0]);
});
