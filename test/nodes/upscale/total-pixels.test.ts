import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeContext } from '../../../engine/graph/context.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import ImageScaleToTotalPixels, { totalPixelsSize } from '../../../nodes/upscale/ImageScaleToTotalPixels.ts';

const image = (h: number, w: number): Tensor => ({ shape: [1, h, w, 3], data: new Float32Array(h * w * 3).map((_, i) => (i % 7) / 7) });
const run = async (inputs: Record<string, unknown>) => ((await ImageScaleToTotalPixels.run!(inputs as never, {} as NodeContext)) as unknown as Tensor[])[0]!;

test('ImageScaleToTotalPixels sizes, computed by hand', () => {
  // 40×20 to 0.01 MP (10485.76 px): scale √13.1072 = 3.62039…, sides 144.816… and 72.408…
  assert.deepEqual(totalPixelsSize(40, 20, 0.01, 1), { width: 145, height: 72 });
  assert.deepEqual(totalPixelsSize(40, 20, 0.01, 8), { width: 144, height: 72 }); // round(18.10)·8, round(9.05)·8
  assert.deepEqual(totalPixelsSize(40, 20, 0.01, 64), { width: 128, height: 64 }); // round(2.26)·64, round(1.13)·64
  // 512×512 to 1 MP (binary): exactly ×2
  assert.deepEqual(totalPixelsSize(512, 512, 1, 1), { width: 1024, height: 1024 });
  // 4×4 at (102.5/1024)² MP: each side is exactly 102.5, and Python's round goes to the even 102 (Math.round: 103)
  assert.deepEqual(totalPixelsSize(4, 4, (102.5 / 1024) ** 2, 1), { width: 102, height: 102 });
  assert.throws(() => totalPixelsSize(40, 20, 0.01, 256), /gives a 256×0 image/);
});

test('the node resizes to that size, aspect kept, with the chosen method', async () => {
  const out = await run({ image: image(20, 40), upscale_method: 'bilinear', megapixels: 0.01, resolution_steps: 8 });
  assert.deepEqual(out.shape, [1, 72, 144, 3]);
  const down = await run({ image: image(64, 32), upscale_method: 'area', megapixels: 0.01, resolution_steps: 1 });
  // scale √(10485.76/2048) = 2.2627…: 72.408… → 72 wide, 144.816… → 145 high
  assert.deepEqual(down.shape, [1, 145, 72, 3]);
  assert.ok(down.data.every((v) => v >= 0 && v <= 1));
});
