import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featherRamp, tiledScale, tiledScaleSteps, tileStarts, type TiledOptions } from '../../../engine/tensor/tiled.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';

function ramp(n: number, c: number, h: number, w: number): Tensor {
  const data = new Float32Array(n * c * h * w);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 0.5 + 0.5;
  return { shape: [n, c, h, w], data };
}

/** Exact pixel functions: nearest ×s upscaling and s×s average pooling (no context across tile borders). */
function nearestUp(s: number) {
  return (t: Tensor): Tensor => {
    const [n, c, h, w] = t.shape as number[];
    const out = new Float32Array(t.data.length * s * s);
    for (let p = 0; p < n! * c!; p++) for (let y = 0; y < h! * s; y++) for (let x = 0; x < w! * s; x++) out[(p * h! * s + y) * w! * s + x] = t.data[(p * h! + Math.floor(y / s)) * w! + Math.floor(x / s)]!;
    return { shape: [n!, c!, h! * s, w! * s], data: out };
  };
}
function avgPool(s: number) {
  return (t: Tensor): Tensor => {
    const [n, c, h, w] = t.shape as number[];
    const H = h! / s, W = w! / s;
    const out = new Float32Array(n! * c! * H * W);
    for (let p = 0; p < n! * c!; p++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      let acc = 0;
      for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) acc += t.data[(p * h! + y * s + i) * w! + x * s + j]!;
      out[(p * H + y) * W + x] = acc / (s * s);
    }
    return { shape: [n!, c!, H, W], data: out };
  };
}
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('tile starts cover the image and match ComfyUI\'s step count', () => {
  assert.deepEqual(tileStarts(512, 512, 32), [0]);
  assert.deepEqual(tileStarts(900, 512, 32), [0, 480]);
  assert.deepEqual(tileStarts(1000, 512, 32), [0, 480, 960]);
  for (const size of [33, 100, 511, 512, 513, 968, 969, 2000]) {
    const starts = tileStarts(size, 512, 32);
    const last = starts[starts.length - 1]!;
    assert.ok(last + Math.min(512, size - last) >= size, `size ${size} covered`);
    const comfy = size <= 512 ? 1 : Math.ceil((size - 32) / (512 - 32));
    assert.equal(starts.length, comfy, `size ${size}`);
  }
  assert.equal(tiledScaleSteps(1100, 600, 512, 512, 32), 6);
});

test('feather ramps: (t+1)/feather at both ends, products where they meet, none on short tiles', () => {
  assert.deepEqual([...featherRamp(8, 3)].map((v) => +v.toFixed(4)), [0.3333, 0.6667, 1, 1, 1, 1, 0.6667, 0.3333]);
  assert.deepEqual([...featherRamp(5, 3)].map((v) => +v.toFixed(4)), [0.3333, 0.6667, 1, 0.6667, 0.3333]);
  assert.deepEqual([...featherRamp(5, 4)].map((v) => +v.toFixed(4)), [0.25, 0.5, 0.5625, 0.5, 0.25]);
  assert.deepEqual([...featherRamp(3, 3)], [1, 1, 1]);
});

test('the blend weights of all tiles sum to 1 everywhere, and overlaps really mix two tiles', async () => {
  const x = ramp(1, 1, 20, 27);
  const opts: TiledOptions = { tileX: 10, tileY: 8, overlap: 3, scale: 2, outChannels: 1 };
  const total = tiledScaleSteps(27, 20, 10, 8, 3);
  const weights: Float32Array[] = [];
  for (let k = 0; k < total; k++) {
    let call = 0;
    // Tile k returns ones, every other tile zeros: the output is tile k's normalised weight.
    const out = await tiledScale(x, (t) => {
      const up = nearestUp(2)(t);
      return { shape: up.shape, data: new Float32Array(up.data.length).fill(call++ === k ? 1 : 0) };
    }, opts);
    weights.push(out.data);
  }
  const sum = new Float32Array(40 * 54);
  for (const w of weights) w.forEach((v, i) => (sum[i]! += v));
  assert.ok(sum.every((v) => Math.abs(v - 1) < 1e-6), 'weights sum to 1');
  const mixed = sum.map((_, i) => weights.filter((w) => w[i]! > 1e-6 && w[i]! < 1 - 1e-6).length);
  assert.ok(mixed.some((n) => n >= 2), 'some pixels blend two or more tiles');
  assert.ok(weights.every((w) => w.some((v) => v > 0.999)), 'each tile owns its centre');
});

test('tiled equals untiled for pixel-local functions: ×4 upscale, 1/8 downscale, batches, single tile', async () => {
  const x = ramp(2, 3, 37, 29);
  const up = await tiledScale(x, nearestUp(4), { tileX: 12, tileY: 16, overlap: 4, scale: 4, outChannels: 3 });
  assert.deepEqual(up.shape, [2, 3, 148, 116]);
  assert.ok(maxDiff(up.data, nearestUp(4)(x).data) < 1e-6);
  const big = ramp(1, 4, 64, 96);
  const down = await tiledScale(big, avgPool(8), { tileX: 32, tileY: 32, overlap: 16, scale: 1 / 8, outChannels: 4 });
  assert.deepEqual(down.shape, [1, 4, 8, 12]);
  assert.ok(maxDiff(down.data, avgPool(8)(big).data) < 1e-6);
  let calls = 0;
  const whole = await tiledScale(ramp(1, 3, 8, 8), (t) => { calls++; return nearestUp(4)(t); }, { tileX: 512, tileY: 512, overlap: 32, scale: 4, outChannels: 3 });
  assert.equal(calls, 1);
  assert.deepEqual(whole.shape, [1, 3, 32, 32]);
});

test('progress per tile over the batch; a throwing callback stops before the next tile', async () => {
  const seen: string[] = [];
  await tiledScale(ramp(2, 1, 20, 20), nearestUp(2), { tileX: 12, tileY: 12, overlap: 4, scale: 2, outChannels: 1, onTile: (d, t) => seen.push(`${d}/${t}`) });
  assert.deepEqual(seen, ['1/8', '2/8', '3/8', '4/8', '5/8', '6/8', '7/8', '8/8']);
  let calls = 0;
  await assert.rejects(tiledScale(ramp(1, 1, 20, 20), (t) => { calls++; return nearestUp(2)(t); }, {
    tileX: 12, tileY: 12, overlap: 4, scale: 2, outChannels: 1, onTile: (d) => { if (d === 2) throw new Error('interrupted'); },
  }), /interrupted/);
  assert.equal(calls, 2);
  await assert.rejects(tiledScale(ramp(1, 1, 20, 20), nearestUp(2), { tileX: 4, tileY: 4, overlap: 4, scale: 2, outChannels: 1 }), /larger than the overlap/);
  await assert.rejects(tiledScale(ramp(1, 1, 20, 20), nearestUp(2), { tileX: 12, tileY: 12, overlap: 4, scale: 2, outChannels: 3 }), /expected \[1, 3, H, W\]/);
});
