import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';
import { nodes } from '../../../nodes/controlnet/index.ts';
import Canny from '../../../nodes/controlnet/Canny.ts';
import WeftScribble from '../../../nodes/controlnet/WeftScribble.ts';
import WeftThreshold from '../../../nodes/controlnet/WeftThreshold.ts';
import { ImageInvert } from '../../../nodes/image/ImageInvert.ts';
import { runNode } from '../latent/run.ts';

test('Canny keeps ComfyUI\'s schema; the preprocessors are registered and runnable', () => {
  assert.equal(Canny.category, 'image/preprocessors');
  assert.deepEqual(Object.keys(Canny.inputs.required), ['image', 'low_threshold', 'high_threshold']);
  assert.deepEqual(Canny.inputs.required.low_threshold, { type: 'FLOAT', default: 0.4, min: 0.01, max: 0.99, step: 0.01 });
  assert.deepEqual(Canny.inputs.required.high_threshold, { type: 'FLOAT', default: 0.8, min: 0.01, max: 0.99, step: 0.01 });
  assert.deepEqual(Canny.outputs, [{ type: 'IMAGE' }]);
  for (const def of [Canny, WeftScribble, WeftThreshold]) {
    assert.ok(nodes.includes(def), `${def.name} is in nodes/controlnet/index.ts`);
    assert.equal(typeof def.run, 'function', def.name);
    assert.match(def.description ?? '', /depth, normal and pose/i, `${def.name} says those maps need nothing`);
  }
});

test('Canny node: a white square gives an RGB ring of 0/1 edges just outside it', async () => {
  const w = 24;
  const d = new Float32Array(w * w * 3);
  for (let y = 6; y < 18; y++) d.fill(1, (y * w + 6) * 3, (y * w + 18) * 3);
  const [out] = (await runNode(Canny, { image: tensor([1, w, w, 3], d), low_threshold: 0.4, high_threshold: 0.8 })) as Tensor[];
  assert.deepEqual(out.shape, [1, w, w, 3]);
  const on = (x: number, y: number) => out.data[(y * w + x) * 3];
  const mid: number[] = [];
  for (let x = 0; x < w; x++) if (on(x, 12)) mid.push(x);
  assert.deepEqual(mid, [5, 18]);
  assert.equal(on(12, 5), 1);
  assert.equal(on(12, 18), 1);
  assert.equal(on(12, 12), 0);
  await assert.rejects(
    async () => runNode(Canny, { image: tensor([1, w, w, 3], d), low_threshold: 0.9, high_threshold: 0.2 }),
    (e: unknown) => e instanceof WeftError && e.input === 'low_threshold',
  );
});

test('WeftScribble and WeftThreshold on a hand-computed 1×3 strip; ImageInvert gives the other polarity', async () => {
  // A pen sketch strip: paper (0.9), ink (0.1), a pale grey mark (0.6).
  const strip = tensor([1, 1, 3, 3], [0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.6, 0.6, 0.6]);
  assert.equal(WeftScribble.inputs.required.invert.default, true);
  const [lines] = (await runNode(WeftScribble, { image: strip, threshold: 0.5, invert: true })) as Tensor[];
  assert.deepEqual([...lines.data], [0, 0, 0, 1, 1, 1, 0, 0, 0]);
  const [strict] = (await runNode(WeftScribble, { image: strip, threshold: 0.7, invert: true })) as Tensor[];
  assert.deepEqual([...strict.data], [0, 0, 0, 1, 1, 1, 1, 1, 1]);
  const [th] = (await runNode(WeftThreshold, { image: strip, threshold: 0.5 })) as Tensor[];
  assert.deepEqual([...th.data], [1, 1, 1, 0, 0, 0, 1, 1, 1]);
  const [inv] = (await runNode(ImageInvert, { image: th })) as Tensor[];
  assert.deepEqual([...inv.data], [...lines.data]);
  await assert.rejects(
    async () => runNode(WeftThreshold, { image: strip, threshold: 2 }),
    (e: unknown) => e instanceof WeftError && e.input === 'threshold',
  );
});
