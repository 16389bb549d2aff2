import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelService } from '../../../engine/runtime/index.ts';
import { writeSafetensors, SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { WeftError } from '../../../engine/errors.ts';
import { matmulChain, model, seeded } from './onnx-min.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-rt-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const N = 512;
const heavy = matmulChain(N, 60);
const input = (): Float32Array => seeded(N * N, 3);

test('a worker run keeps the event loop responsive and equals an in-thread run', async () => {
  const svc = new ModelService({ threads: 1, ep: 'cpu' });
  try {
    const h = await svc.load('chain', { graph: heavy, weightsDir: dir });
    assert.equal(h.ep, 'cpu');
    assert.deepEqual(h.inputNames, ['x']);
    await h.run({ x: { type: 'float32', dims: [N, N], data: input() } });
    const gaps = async (work: () => Promise<unknown>): Promise<{ ms: number; maxGap: number }> => {
      let last = performance.now();
      let maxGap = 0;
      const iv = setInterval(() => { const n = performance.now(); maxGap = Math.max(maxGap, n - last); last = n; }, 2);
      const t0 = performance.now();
      await work();
      const ms = performance.now() - t0;
      clearInterval(iv);
      return { ms, maxGap: Math.max(maxGap, performance.now() - last) };
    };
    let viaWorker: Float32Array | undefined;
    const w = await gaps(async () => { viaWorker = (await h.run({ x: { type: 'float32', dims: [N, N], data: input() } })).y!.data as Float32Array; });
    const direct = await ort.InferenceSession.create(heavy, { intraOpNumThreads: 1, graphOptimizationLevel: 'extended', enableCpuMemArena: false });
    let inThread: Float32Array | undefined;
    const d = await gaps(async () => { inThread = (await direct.run({ x: new ort.Tensor('float32', input(), [N, N]) })).y!.data as Float32Array; });
    await direct.release();
    // The in-thread run shows the blocking the worker avoids, so this test can tell the two apart.
    assert.ok(d.maxGap > d.ms * 0.6, `in-thread run should block: max gap ${d.maxGap.toFixed(0)} ms of ${d.ms.toFixed(0)} ms`);
    assert.ok(w.ms > 100, `the graph must be heavy enough to measure (${w.ms.toFixed(0)} ms)`);
    assert.ok(w.maxGap < Math.max(60, w.ms * 0.25), `event loop stalled ${w.maxGap.toFixed(0)} ms during a ${w.ms.toFixed(0)} ms worker run`);
    assert.deepEqual(viaWorker, inThread);
  } finally {
    await svc.close();
  }
});

test('weights mapped from a safetensors file through weightsDir; shared per key; transfer moves buffers', async () => {
  const w = seeded(4 * 3, 11);
  const b = seeded(3, 12);
  writeSafetensors(join(dir, 'lin.safetensors'), { bias: { dtype: 'F32', shape: [3], data: b }, weight: { dtype: 'F32', shape: [4, 3], data: w } });
  const f = SafetensorsFile.open(join(dir, 'lin.safetensors'));
  const ext = (name: string) => ({ location: 'lin.safetensors', offset: f.get(name).offset, length: f.get(name).byteLength });
  const graph = model({
    nodes: [{ op: 'MatMul', inputs: ['x', 'weight'], outputs: ['m'] }, { op: 'Add', inputs: ['m', 'bias'], outputs: ['y'] }],
    inits: [{ name: 'weight', dims: [4, 3], external: ext('weight') }, { name: 'bias', dims: [3], external: ext('bias') }],
    inputs: [{ name: 'x', dims: [2, 4] }], outputs: [{ name: 'y', dims: [2, 3] }],
  });
  f.close();
  const svc = new ModelService({ threads: 1, ep: 'cpu' });
  try {
    const [h1, h2] = await Promise.all([svc.load('lin', { graph, weightsDir: dir }), svc.load('lin', { graph, weightsDir: dir })]);
    assert.equal(h1, h2, 'one session per key');
    assert.deepEqual(svc.loadedKeys(), ['lin']);
    const x = Float32Array.from([1, 2, 3, 4, -1, 0, 1, 0.5]);
    const out = await h1.run({ x: { type: 'float32', dims: [2, 4], data: x } }, { transfer: true });
    assert.equal(x.byteLength, 0, 'transferred, not copied');
    const y = out.y!.data as Float32Array;
    const xs = [1, 2, 3, 4, -1, 0, 1, 0.5];
    for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) {
      let s = b[c]!;
      for (let k = 0; k < 4; k++) s += xs[r * 4 + k]! * w[k * 3 + c]!;
      assert.ok(Math.abs(y[r * 3 + c]! - s) < 1e-5);
    }
    const kept = Float32Array.from(xs);
    await h1.run({ x: { type: 'float32', dims: [2, 4], data: kept } });
    assert.equal(kept.length, 8, 'cloned by default');
  } finally {
    await svc.close();
  }
});

test('LRU unload under a small budget; an evicted handle loads again on run', async () => {
  const small = matmulChain(8, 1);
  const logs: string[] = [];
  const svc = new ModelService({ threads: 1, ep: 'cpu', budgetBytes: 2500, log: (m) => logs.push(m) });
  try {
    const a = await svc.load('a', { graph: small, weightsDir: dir, sizeBytes: 1000 });
    await svc.load('b', { graph: small, weightsDir: dir, sizeBytes: 1000 });
    await svc.load('a', { graph: small, weightsDir: dir, sizeBytes: 1000 }); // a is now the most recent
    await svc.load('c', { graph: small, weightsDir: dir, sizeBytes: 1000 });
    assert.deepEqual(svc.loadedKeys().sort(), ['a', 'c']);
    assert.ok(logs.some((l) => l.includes('"b" unloaded')));
    assert.ok(svc.usedBytes() <= 2500);
    const out = await a.run({ x: { type: 'float32', dims: [8, 8], data: seeded(64, 1) } });
    assert.deepEqual(out.y!.dims, [8, 8]);
    await svc.load('b', { graph: small, weightsDir: dir, sizeBytes: 1000 });
    assert.deepEqual(svc.loadedKeys().sort(), ['a', 'b'], 'c was least recently used');
    await assert.rejects(svc.load('huge', { graph: small, weightsDir: dir, sizeBytes: 10_000 }), /model "huge" needs .* budget/);
  } finally {
    await svc.close();
  }
});

test('failures surface as rejected promises naming the model', async () => {
  const svc = new ModelService({ threads: 1, ep: 'cpu' });
  try {
    const bad = model({ nodes: [{ op: 'NoSuchOp', inputs: ['x'], outputs: ['y'] }], inits: [], inputs: [{ name: 'x', dims: [1] }], outputs: [{ name: 'y', dims: [1] }] });
    await assert.rejects(svc.load('broken-unet', { graph: bad, weightsDir: dir }), (e: unknown) => e instanceof WeftError && /model "broken-unet": could not create a session/.test(e.message) && /NoSuchOp/.test(e.message));
    assert.deepEqual(svc.loadedKeys(), []);
    await assert.rejects(svc.load('garbage', { graph: Uint8Array.from([1, 2, 3, 4]), weightsDir: dir }), /model "garbage"/);
    const missing = model({ nodes: [{ op: 'Add', inputs: ['x', 'w'], outputs: ['y'] }], inits: [{ name: 'w', dims: [1], external: { location: 'absent.safetensors', offset: 0, length: 4 } }], inputs: [{ name: 'x', dims: [1] }], outputs: [{ name: 'y', dims: [1] }] });
    await assert.rejects(svc.load('no-weights', { graph: missing, weightsDir: dir }), /model "no-weights".*absent\.safetensors/);
    const h = await svc.load('ok', { graph: matmulChain(4, 1), weightsDir: dir });
    await assert.rejects(h.run({ x: { type: 'float32', dims: [4, 4], data: new Float32Array(3) } }), /model "ok": input tensor "x".*needs 64 bytes/);
    await assert.rejects(h.run({ x: { type: 'float32', dims: [5, 4], data: new Float32Array(20) } }), (e: unknown) => e instanceof WeftError && /model "ok": run failed/.test(e.message));
    const tight = new ModelService({ threads: 1, ep: 'cpu', freeMemory: () => 1024 });
    await assert.rejects(tight.load('big', { graph: matmulChain(4, 1), weightsDir: dir, sizeBytes: 1 << 30 }), /not enough memory to load model "big"/);
  } finally {
    await svc.close();
  }
});
