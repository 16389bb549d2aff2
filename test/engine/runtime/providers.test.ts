import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { candidatesFor, detectGpu, platformInfo, selectProvider, type PlatformInfo } from '../../../engine/runtime/providers.ts';
import { matmulChain, model } from './onnx-min.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-ep-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const linux: PlatformInfo = {
  platform: 'linux', backends: [{ name: 'cpu', bundled: true }, { name: 'webgpu', bundled: true }, { name: 'cuda', bundled: false }],
  gpu: 'software', gpuReason: 'only lavapipe', cudaProviderInstalled: false,
};

test('auto: software adapter and missing CUDA libraries are skipped with reasons; CPU always last', () => {
  const r = candidatesFor('auto', linux);
  assert.deepEqual(r.candidates, ['cpu']);
  assert.deepEqual(r.skipped.map((s) => [s.ep, s.outcome]), [['cuda', 'skipped'], ['webgpu', 'skipped']]);
  assert.match(r.skipped[1]!.reason, /lavapipe/);
  assert.deepEqual(candidatesFor('auto', { ...linux, gpu: 'hardware', cudaProviderInstalled: true }).candidates, ['cuda', 'webgpu', 'cpu']);
  const win = candidatesFor('auto', { ...linux, platform: 'win32', gpu: 'unknown', backends: [...linux.backends, { name: 'dml', bundled: true }] });
  assert.deepEqual(win.candidates, ['dml', 'webgpu', 'cpu']);
  // Forcing a provider this build lacks must not silently become CPU (ORT drops it with a warning).
  const forced = candidatesFor('dml', linux);
  assert.deepEqual(forced.candidates, []);
  assert.match(forced.skipped[0]!.reason, /not in this platform/);
  assert.deepEqual(candidatesFor('webgpu', linux).candidates, ['webgpu'], 'a forced provider is tried even on software');
});

test('GPU kind from the Vulkan drivers and render nodes a machine has', () => {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'usr/share/vulkan/icd.d'), { recursive: true });
  assert.equal(detectGpu({}, join(dir, 'empty')).gpu, 'none');
  for (const f of ['lvp_icd.json', 'intel_icd.json', 'radeon_icd.json']) writeFileSync(join(root, 'usr/share/vulkan/icd.d', f), '{}');
  assert.equal(detectGpu({}, root).gpu, 'software', 'Mesa installs every vendor ICD; without a render node only lavapipe can run');
  mkdirSync(join(root, 'sys/class/drm/renderD128/device'), { recursive: true });
  mkdirSync(join(root, 'drivers/virtio_gpu'), { recursive: true });
  symlinkSync(join(root, 'drivers/virtio_gpu'), join(root, 'sys/class/drm/renderD128/device/driver'));
  assert.equal(detectGpu({}, root).gpu, 'software', 'a virtual GPU is not a GPU');
  mkdirSync(join(root, 'sys/class/drm/renderD129/device'), { recursive: true });
  mkdirSync(join(root, 'drivers/amdgpu'), { recursive: true });
  symlinkSync(join(root, 'drivers/amdgpu'), join(root, 'sys/class/drm/renderD129/device/driver'));
  const hw = detectGpu({}, root);
  assert.equal(hw.gpu, 'hardware');
  assert.match(hw.reason, /amdgpu/);
  assert.equal(detectGpu({ VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.json' }, root).gpu, 'software', 'explicit software-only ICD list');
});

test('selectProvider: real ORT failures are caught in order and reported, then CPU is chosen', async () => {
  const info = await platformInfo();
  const graph = matmulChain(4, 1);
  const tryEp = (g: Uint8Array) => (ep: string) => ort.InferenceSession.create(g, { executionProviders: [ep], logSeverityLevel: 4 });
  const candidates = [...(info.cudaProviderInstalled ? [] : ['cuda']), 'nosuch', 'cpu'];
  const r = await selectProvider(candidates, tryEp(graph), [{ ep: 'webgpu', outcome: 'skipped', reason: 'software' }]);
  assert.equal(r.ep, 'cpu');
  await r.value.release();
  assert.deepEqual(r.attempts.map((a) => a.outcome), ['skipped', ...candidates.slice(0, -1).map(() => 'failed'), 'chosen']);
  assert.match(r.attempts.find((a) => a.ep === 'nosuch')!.reason, /backend not found/);
  // com.microsoft GroupNorm has CUDA/DML kernels only: the CPU provider refuses the graph.
  const gn = model({ nodes: [{ op: 'GroupNorm', inputs: ['x', 'g', 'b'], outputs: ['y'], domain: 'com.microsoft' }], inits: [{ name: 'g', dims: [4], data: new Float32Array(4) }, { name: 'b', dims: [4], data: new Float32Array(4) }], inputs: [{ name: 'x', dims: [1, 2, 2, 4] }], outputs: [{ name: 'y', dims: [1, 2, 2, 4] }] });
  await assert.rejects(selectProvider(['nosuch', 'cpu'], tryEp(gn)), (e: unknown) => {
    const attempts = (e as { attempts: Array<{ ep: string; outcome: string; reason: string }> }).attempts;
    assert.deepEqual(attempts.map((a) => [a.ep, a.outcome]), [['nosuch', 'failed'], ['cpu', 'failed']]);
    assert.match((e as Error).message, /no execution provider could run this model/);
    return true;
  });
});
