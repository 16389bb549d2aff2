/**
 * ORT's WebGPU Conv is wrong for spatial kernels over 6, 9, 15, 18, … input channels (engine/models/layers/
 * basic.ts pads them to a multiple of 4 in the GPU variant). This runs the layer on WebGPU against the CPU
 * graph for channel counts on both sides of the rule, so an ORT fix or a regression of the padding shows here.
 * Skips without a WebGPU adapter (here, Mesa lavapipe provides one).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { conv2d } from '../../../engine/models/layers/basic.ts';
import { GraphBuilder, runFloat, sessionFor } from '../../../engine/onnx/index.ts';
import { probeWebGpu, webgpuSession } from '../../../engine/conformance/gpu.ts';
import { rand, tmpDir } from '../onnx/ref.ts';
import { onnxNodes } from '../../support/onnx-nodes.ts';

const probe = await probeWebGpu();
const skip = probe.ok ? false : `no WebGPU adapter: ${probe.reason}`;
const dir = tmpDir('gpu-conv');
after(() => rmSync(dir, { recursive: true, force: true }));

async function convOn(ep: 'cpu' | 'webgpu', file: SafetensorsFile, cin: number, k: number, x: Float32Array): Promise<{ y: Float32Array; ops: number }> {
  const g = new GraphBuilder({ name: 'conv', ep });
  g.output(conv2d(g, file, 'c', g.input('x', 'float32', [1, cin, 8, 8])), 'y');
  const feeds = { x: { data: x, dims: [1, cin, 8, 8] } };
  const built = g.build();
  const ops = onnxNodes(built.bytes).filter((n) => n.op === 'Pad').length;
  const s = ep === 'cpu' ? await sessionFor(g) : await webgpuSession(built.bytes, built.weightsDir);
  try {
    return { y: (await runFloat(s, feeds)).y!.data, ops };
  } finally {
    await s.release();
  }
}

for (const cin of [3, 4, 6, 7, 9, 12, 15]) {
  test(`WebGPU Conv 3×3 over ${cin} input channels equals the CPU graph`, { skip }, async () => {
    const path = join(dir, `c${cin}.safetensors`);
    writeSafetensors(path, { 'c.weight': { dtype: 'F32', shape: [16, cin, 3, 3], data: rand(16 * cin * 9, cin) }, 'c.bias': { dtype: 'F32', shape: [16], data: rand(16, 99) } });
    const file = SafetensorsFile.open(path);
    try {
      const x = rand(cin * 64, 7);
      const cpu = await convOn('cpu', file, cin, 3, x);
      const gpu = await convOn('webgpu', file, cin, 3, x);
      let err = 0;
      cpu.y.forEach((v, i) => { err = Math.max(err, Math.abs(v - gpu.y[i]!)); });
      assert.ok(err < 1e-4, `cin ${cin}: max |webgpu − cpu| = ${err}`);
      assert.equal(cpu.ops, 0, 'the CPU graph is never padded');
      assert.equal(gpu.ops > 0, cin > 4 && cin % 4 !== 0, `cin ${cin}: the GPU graph pads exactly when the rule says so`);
    } finally {
      file.close();
    }
  });
}
