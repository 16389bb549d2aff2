import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runConformance } from '../../../engine/conformance/runner.ts';
import type { NodeContext } from '../../../engine/graph/context.ts';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { UpscaleModel } from '../../../engine/models/esrgan/index.ts';
import type { Tensor } from '../../../engine/tensor/tensor.ts';
import ImageUpscaleWithModel from '../../../nodes/upscale/ImageUpscaleWithModel.ts';

const conf = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/conformance');
const present = fs.existsSync(path.join(conf, 'cases.json'));
const why = present ? false : `${conf} not found (a clone without ../shared has no golden data)`;

test('conformance: esrgan_x4_raw and esrgan_x4_node pass through the handler', { skip: why }, async () => {
  const s = await runConformance(conf, { only: ['esrgan_'], log: () => {} });
  assert.deepEqual({ passed: s.passed, failed: s.failed }, { passed: 2, failed: 0 }, s.lines.join('\n'));
});

test('conformance: the ImageUpscaleWithModel node itself reproduces esrgan_x4_node', { skip: why }, async () => {
  const v = SafetensorsFile.open(path.join(conf, 'vectors/esrgan_x4_node.safetensors'));
  const input: Tensor = { shape: v.get('input.image_nhwc').shape, data: v.readFloat32('input.image_nhwc') };
  const expected = v.readFloat32('expected.image_nhwc');
  v.close();
  const model = UpscaleModel.open(path.join(conf, 'models/tiny_esrgan_x4.safetensors'), { threads: 1 });
  const progress: string[] = [];
  const ctx = { progress: (a: number, b: number) => progress.push(`${a}/${b}`), checkAbort() {}, warn() {} } as unknown as NodeContext;
  const [out] = (await (ImageUpscaleWithModel.run as (i: unknown, c: NodeContext) => Promise<Tensor[]>)({ upscale_model: model, image: input }, ctx));
  assert.deepEqual(out!.shape, [1, 128, 128, 3]);
  let err = 0;
  for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(out!.data[i]! - expected[i]!));
  assert.ok(err <= 1e-5 + 1e-4, `max error ${err}`);
  assert.deepEqual(progress, ['1/1']);
  await model.release();
});
