import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { isSafeNumber, parse } from 'lossless-json';
import { nodes, LoadImage, LoadImageMask, SaveImage, PreviewImage, ImageScale, ImageScaleBy, ImageInvert } from '../../../nodes/image/index.ts';
import { NodeRegistry } from '../../../engine/graph/registry.ts';
import { readPngText } from '../../../engine/io/png.ts';
import { decodeImage } from '../../../engine/tensor/image.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import { nodeContext, tempFolders } from './context.ts';

const exact = (v: string) => (isSafeNumber(v) ? Number(v) : BigInt(v));
type Run = (inputs: Record<string, unknown>, ctx: ReturnType<typeof nodeContext>) => unknown;
const run = async (def: { run?: unknown }, inputs: Record<string, unknown>, ctx: ReturnType<typeof nodeContext>) => (def.run as Run)(inputs, ctx);

async function writeRgba(file: string, pixels: number[], w: number, h: number): Promise<void> {
  await sharp(Buffer.from(pixels), { raw: { width: w, height: h, channels: 4 } }).png().toFile(file);
}

test('LoadImage → ImageInvert → SaveImage writes the inverted pixels with the prompt embedded', async () => {
  const folders = tempFolders();
  await writeRgba(path.join(folders.inputDir, 'in.png'), [255, 0, 0, 255, 0, 128, 255, 0], 2, 1);
  const prompt = { '1': { class_type: 'LoadImage', inputs: { image: 'in.png' } }, '9': { class_type: 'SaveImage', inputs: { seed: 2n ** 62n + 3n, filename_prefix: 'é' } } };
  const workflow = { nodes: [{ id: 1, type: 'LoadImage', widgets_values: ['in.png', 'image'] }] };
  const [image, mask] = (await run(LoadImage, { image: 'in.png' }, nodeContext(folders, 'LoadImage'))) as Tensor[];
  assert.deepEqual(image.shape, [1, 1, 2, 3]);
  assert.deepEqual([...mask.data], [0, 1]);
  const [inverted] = (await run(ImageInvert, { image }, nodeContext(folders, 'ImageInvert'))) as Tensor[];
  const ctx = nodeContext(folders, 'SaveImage', { prompt, extraPngInfo: { workflow } });
  const res = (await run(SaveImage, { images: inverted, filename_prefix: 'ComfyUI' }, ctx)) as { ui: { images: unknown[] } };
  assert.deepEqual(res.ui.images, [{ filename: 'ComfyUI_00001_.png', subfolder: '', type: 'output' }]);
  const file = fs.readFileSync(path.join(folders.outputDir, 'ComfyUI_00001_.png'));
  const back = await decodeImage(file);
  // 1 − 128/255 in float32 is 0.49803918…, ×255 = 126.99999 and numpy's uint8 cast truncates: 126, as in ComfyUI.
  assert.deepEqual([...back.image.data].map((v) => Math.round(v * 255)), [0, 255, 255, 255, 126, 0]);
  const texts = readPngText(file);
  assert.deepEqual(parse(texts.prompt, null, exact), prompt);
  assert.deepEqual(parse(texts.workflow, null, exact), workflow);
  // A second save continues the numbering.
  await run(SaveImage, { images: inverted, filename_prefix: 'ComfyUI' }, ctx);
  assert.ok(fs.existsSync(path.join(folders.outputDir, 'ComfyUI_00002_.png')));
});

test('LoadImage isChanged follows the file content; validate checks existence', async () => {
  const folders = tempFolders();
  const file = path.join(folders.inputDir, 'a.png');
  await writeRgba(file, [1, 2, 3, 255], 1, 1);
  const h1 = LoadImage.isChanged!({ image: 'a.png' }, { folders });
  assert.equal(LoadImage.isChanged!({ image: 'a.png' }, { folders }), h1);
  assert.match(String(h1), /^[0-9a-f]{64}$/);
  await writeRgba(file, [9, 2, 3, 255], 1, 1);
  assert.notEqual(LoadImage.isChanged!({ image: 'a.png' }, { folders }), h1);
  assert.equal(await LoadImage.validate!({ image: 'a.png' }, { folders }), true);
  assert.equal(await LoadImage.validate!({ image: 'missing.png' }, { folders }), 'Invalid image file: missing.png');
  assert.ok(Number.isNaN(LoadImage.isChanged!({ image: 'missing.png' }, { folders })));
  assert.deepEqual(LoadImage.validates, ['image']);
});

test('LoadImage reads annotated names from the output folder', async () => {
  const folders = tempFolders();
  await writeRgba(path.join(folders.outputDir, 'o.png'), [0, 0, 0, 255], 1, 1);
  const [image] = (await run(LoadImage, { image: 'o.png [output]' }, nodeContext(folders, 'LoadImage'))) as Tensor[];
  assert.deepEqual(image.shape, [1, 1, 1, 3]);
});

test('LoadImageMask picks a channel', async () => {
  const folders = tempFolders();
  await writeRgba(path.join(folders.inputDir, 'm.png'), [51, 0, 0, 0, 102, 0, 0, 255], 2, 1);
  const ctx = nodeContext(folders, 'LoadImageMask');
  const [red] = (await run(LoadImageMask, { image: 'm.png', channel: 'red' }, ctx)) as Tensor[];
  assert.deepEqual([...red.data].map((v) => Math.round(v * 255)), [51, 102]);
  const [alpha] = (await run(LoadImageMask, { image: 'm.png', channel: 'alpha' }, ctx)) as Tensor[];
  assert.deepEqual([...alpha.data], [1, 0]);
});

test('PreviewImage writes fast PNGs to temp with a random ComfyUI_temp_ prefix', async () => {
  const folders = tempFolders();
  const images: Tensor = { shape: [2, 1, 1, 3], data: new Float32Array(6).fill(0.5) };
  const res = (await run(PreviewImage, { images }, nodeContext(folders, 'PreviewImage', { prompt: { a: 1 } }))) as { ui: { images: { filename: string; type: string }[] } };
  assert.equal(res.ui.images.length, 2);
  for (const e of res.ui.images) {
    assert.match(e.filename, /^ComfyUI_temp_[a-z]{5}_0000[12]_\.png$/);
    assert.equal(e.type, 'temp');
    assert.ok(fs.existsSync(path.join(folders.tempDir, e.filename)));
  }
  assert.deepEqual(fs.readdirSync(folders.outputDir), []);
});

test('ImageScale: 0 keeps aspect (Python rounding), both 0 pass through, crop centre', async () => {
  const folders = tempFolders();
  const ctx = nodeContext(folders, 'ImageScale');
  const img: Tensor = { shape: [1, 4, 10, 3], data: new Float32Array(120).fill(0.25) };
  const [a] = (await run(ImageScale, { image: img, upscale_method: 'bilinear', width: 5, height: 0, crop: 'disabled' }, ctx)) as Tensor[];
  assert.deepEqual(a.shape, [1, 2, 5, 3]);
  const [b] = (await run(ImageScale, { image: img, upscale_method: 'area', width: 0, height: 0, crop: 'disabled' }, ctx)) as Tensor[];
  assert.equal(b, img);
  const [c] = (await run(ImageScale, { image: img, upscale_method: 'nearest-exact', width: 3, height: 3, crop: 'center' }, ctx)) as Tensor[];
  assert.deepEqual(c.shape, [1, 3, 3, 3]);
  // 10×4 → height 5: 10·5/4 = 12.5 → round → 12.
  const [d] = (await run(ImageScale, { image: img, upscale_method: 'bicubic', width: 0, height: 5, crop: 'disabled' }, ctx)) as Tensor[];
  assert.deepEqual(d.shape, [1, 5, 12, 3]);
});

test('ImageScaleBy rounds each side like Python', async () => {
  const ctx = nodeContext(tempFolders(), 'ImageScaleBy');
  const img: Tensor = { shape: [1, 3, 5, 3], data: new Float32Array(45).fill(1) };
  const [out] = (await run(ImageScaleBy, { image: img, upscale_method: 'lanczos', scale_by: 0.5 }, ctx)) as Tensor[];
  assert.deepEqual(out.shape, [1, 2, 2, 3]);
  assert.ok(out.data.every((v) => v === 1));
});

test('schemas match ComfyUI and register cleanly', () => {
  const reg = new NodeRegistry().register(...nodes);
  const info = reg.objectInfo({ listModels: () => [], listInput: () => ['a.png'] }) as Record<string, any>;
  assert.deepEqual(info.LoadImage.input.required.image, [['a.png'], { image_upload: true }]);
  assert.deepEqual(info.LoadImage.output, ['IMAGE', 'MASK']);
  assert.deepEqual(info.SaveImage.input.hidden, { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' });
  assert.equal(info.SaveImage.input.required.filename_prefix[1].default, 'ComfyUI');
  assert.equal(info.SaveImage.output_node, true);
  assert.deepEqual(info.ImageScale.input.required.upscale_method[0], ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']);
  assert.deepEqual(info.ImageScale.input.required.width, ['INT', { default: 512, min: 0, max: 16384, step: 1 }]);
  assert.deepEqual(info.ImageScaleBy.input.required.scale_by, ['FLOAT', { default: 1, min: 0.01, max: 8, step: 0.01 }]);
  assert.deepEqual(info.LoadImageMask.input.required.channel[0], ['alpha', 'red', 'green', 'blue']);
  assert.equal(info.LoadImageMask.category, 'mask');
  assert.equal(info.ImageScale.display_name, 'Upscale Image');
});

const EXAMPLE = '/work/shared/comfy-examples/images/yosemite_inpaint_example.png';
test('LoadImage on a ComfyUI example input image', { skip: !fs.existsSync(EXAMPLE) && 'example images absent' }, async () => {
  const folders = tempFolders();
  fs.copyFileSync(EXAMPLE, path.join(folders.inputDir, 'yosemite.png'));
  const meta = await sharp(EXAMPLE).metadata();
  const [image, mask] = (await run(LoadImage, { image: 'yosemite.png' }, nodeContext(folders, 'LoadImage'))) as Tensor[];
  assert.deepEqual(image.shape, [1, meta.height, meta.width, 3]);
  assert.deepEqual(mask.shape, meta.hasAlpha ? [1, meta.height, meta.width] : [1, 64, 64]);
  if (meta.hasAlpha) assert.ok(mask.data.some((v) => v > 0.5), 'the inpaint example has transparent pixels');
});
