import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphBuilder, MS_DOMAIN, runFloat, sessionFor, varint } from '../../../engine/onnx/index.ts';
import { SafetensorsFile, f32ToBf16, f32ToF16, writeSafetensors } from '../../../engine/io/safetensors.ts';
import { WeftError } from '../../../engine/errors.ts';
import { linearRef, maxDiff, rand, tmpDir as mkTmp } from './ref.ts';

const made: string[] = [];
const tmpDir = (p: string) => { const d = mkTmp(p); made.push(d); return d; };
after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

test('varint: small values are one byte, int64 -1 is ten bytes of two\'s complement', () => {
  assert.deepEqual([...varint(5)], [5]);
  assert.deepEqual([...varint(300)], [0xac, 0x02]);
  assert.deepEqual([...varint(-1)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
});

test('inline constants, int64 shapes and float attributes given as integers run in ORT', async () => {
  const g = new GraphBuilder({ name: 'consts' });
  const x = g.input('x', 'float32', [2, 3]);
  // FusedMatMul alpha=2 must be encoded as FLOAT even though 2 is an integer in JS.
  const w = g.constant(Float32Array.of(1, 0, 0, 0, 1, 0), [2, 3]);
  const y = g.op('FusedMatMul', [x, w], { transB: 1, alpha: 2 }, { domain: MS_DOMAIN });
  const r = g.op('Reshape', [g.op('Add', [y, g.scalar(0.5)]), g.constInt64([-1])]);
  g.output(r, 'y');
  assert.equal(g.constInt64([-1]), g.constInt64([-1]), 'identical small constants are shared');
  const s = await sessionFor(g);
  const out = await runFloat(s, { x: { data: Float32Array.of(1, 2, 3, 4, 5, 6), dims: [2, 3] } });
  assert.deepEqual([...out.y!.data], [2.5, 4.5, 8.5, 10.5]);
  assert.deepEqual(out.y!.dims, [4]);
  await s.release();
});

test('external weights from two files in different folders, row slices, fp16 and bf16 Casts', async () => {
  const dir = tmpDir('ext');
  fs.mkdirSync(path.join(dir, 'checkpoints', 'sd'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'loras'));
  const w = rand(4 * 3, 7);
  const f1 = path.join(dir, 'checkpoints', 'sd', 'model.safetensors');
  const f2 = path.join(dir, 'loras', 'extra.safetensors');
  writeSafetensors(f1, { a: { dtype: 'F32', shape: [4, 3], data: w }, h: { dtype: 'F16', shape: [4, 3], data: Uint16Array.from(w, f32ToF16) } });
  writeSafetensors(f2, { b: { dtype: 'BF16', shape: [4, 3], data: Uint16Array.from(w, f32ToBf16) } });
  const A = SafetensorsFile.open(f1), B = SafetensorsFile.open(f2);
  const g = new GraphBuilder({ name: 'ext' });
  const x = g.input('x', 'float32', [1, 3]);
  const mm = (wv: string) => g.op('FusedMatMul', [x, wv], { transB: 1 }, { domain: MS_DOMAIN });
  g.output(mm(g.weight(A, 'a')), 'ya');
  g.output(mm(g.weight(A, 'h')), 'yh');
  g.output(mm(g.weight(B, 'b')), 'yb');
  g.output(mm(g.weight(A, 'a', { rows: [1, 3] })), 'yrows');
  assert.equal(g.weight(A, 'a'), g.weight(A, 'a'), 'a weight requested twice is one initializer');
  assert.equal(g.weightsDir, fs.realpathSync(dir));
  const s = await sessionFor(g);
  const xv = Float32Array.of(0.5, -1, 2);
  const out = await runFloat(s, { x: { data: xv, dims: [1, 3] } });
  const ref = linearRef(xv, w, null, 3, 4);
  assert.ok(maxDiff(out.ya!.data, ref) < 1e-6);
  assert.ok(maxDiff(out.yh!.data, ref) < 1e-2, 'fp16 weights within half precision');
  assert.ok(maxDiff(out.yb!.data, ref) < 3e-2, 'bf16 weights within bfloat16 precision');
  assert.ok(maxDiff(out.yh!.data, ref) > 0, 'fp16 really came from the fp16 tensor');
  assert.ok(maxDiff(out.yrows!.data, ref.slice(1, 3)) < 1e-6);
  await s.release();
  A.close(); B.close();
});

test('a weights folder that does not hold every weight file is a WeftError naming file and tensor', () => {
  const dir = tmpDir('root');
  fs.mkdirSync(path.join(dir, 'a')); fs.mkdirSync(path.join(dir, 'b'));
  const f = path.join(dir, 'b', 'w.safetensors');
  writeSafetensors(f, { k: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
  const file = SafetensorsFile.open(f);
  const g = new GraphBuilder({ weightsRoot: path.join(dir, 'a') });
  g.output(g.weight(file, 'k'), 'y');
  assert.throws(() => g.build(), (e: unknown) => e instanceof WeftError && /outside the weights folder/.test(e.message) && e.message.includes('"k"'));
  assert.throws(() => g.weight(file, 'missing'), (e: unknown) => e instanceof WeftError && e.message.includes(f) && e.message.includes('"missing"'));
  file.close();
});

test('a symlinked weight file resolves to its real folder (ORT rejects links that leave the folder)', async () => {
  const dir = tmpDir('link');
  fs.mkdirSync(path.join(dir, 'real')); fs.mkdirSync(path.join(dir, 'models'));
  const real = path.join(dir, 'real', 'w.safetensors');
  writeSafetensors(real, { k: { dtype: 'F32', shape: [2], data: Float32Array.of(3, 4) } });
  fs.symlinkSync(real, path.join(dir, 'models', 'w.safetensors'));
  const file = SafetensorsFile.open(path.join(dir, 'models', 'w.safetensors'));
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [2]);
  g.output(g.op('Mul', [x, g.weight(file, 'k')]), 'y');
  const s = await sessionFor(g);
  const out = await runFloat(s, { x: { data: Float32Array.of(1, 2), dims: [2] } });
  assert.deepEqual([...out.y!.data], [3, 8]);
  await s.release();
  file.close();
});
