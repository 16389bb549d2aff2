import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufFile, isGgufFile } from '../../../engine/io/gguf.ts';
import { ggufToSafetensors, openGgufTable, openGgufWeights } from '../../../engine/io/gguf-float.ts';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { WeftError } from '../../../engine/errors.ts';
import { f32ToBf16, f32ToF16, bf16ToF32, f16ToF32 } from '../../../engine/io/dtypes.ts';
import { TYPES, f32Bytes, ggufBytes, randomBlocks, refDecode, rng, writeGguf, type GgufSpec } from './gguf-helpers.ts';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'weft-gguf-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const QUANT = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'];

test('every type decodes to the per-element reference (torch shape = reversed ne, absolute offsets, alignment)', () => {
  const r = rng(7);
  const tensors: GgufSpec['tensors'] = [];
  const refs = new Map<string, Float32Array>();
  for (const type of QUANT) {
    const shape = [3, 512]; // two super-blocks per row for the K types, sixteen blocks for the others
    const [, per] = TYPES[type]!;
    const data = randomBlocks(type, (3 * 512) / per, r);
    tensors.push({ name: `w.${type}`, type, shape, data });
    refs.set(`w.${type}`, refDecode(type, data, 3 * 512));
  }
  const vals = Float32Array.from({ length: 2 * 3 * 4 * 5 }, () => r() * 4 - 2);
  tensors.push({ name: 'f32', type: 'F32', shape: [2, 3, 4, 5], data: f32Bytes(vals) });
  const h = Uint16Array.from(vals, (v) => f32ToF16(v)), bf = Uint16Array.from(vals, (v) => f32ToBf16(v));
  tensors.push({ name: 'f16', type: 'F16', shape: [120], data: new Uint8Array(h.buffer) });
  tensors.push({ name: 'bf16', type: 'BF16', shape: [10, 12], data: new Uint8Array(bf.buffer) });
  const p = join(dir, 'all.gguf');
  writeGguf(p, { tensors, alignment: 64, kv: [['general.architecture', 'string', 'flux']] });
  assert.equal(isGgufFile(p), true);
  const f = GgufFile.open(p);
  try {
    assert.equal(f.alignment, 64);
    assert.equal(f.architecture, 'flux');
    assert.equal(f.dataStart % 64, 0);
    for (const type of QUANT) {
      const t = f.get(`w.${type}`);
      assert.deepEqual(t.shape, [3, 512]);
      assert.deepEqual(t.ne, [512, 3]);
      assert.equal(t.type.name, type);
      assert.equal(t.byteLength, (3 * 512 / TYPES[type]![1]) * TYPES[type]![2]);
      assert.equal((t.offset - f.dataStart) % 64, 0);
      const got = f.readFloat32(t.name), ref = refs.get(t.name)!;
      assert.ok(ref.some((v) => v !== 0));
      for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(got[i]! - ref[i]!) <= 1e-6 * Math.max(1, Math.abs(ref[i]!)), `${type}[${i}]: ${got[i]} vs ${ref[i]}`);
    }
    assert.deepEqual(f.get('f32').shape, [2, 3, 4, 5]);
    assert.deepEqual(f.readFloat32('f32'), vals);
    assert.deepEqual(f.readFloat32('f16'), Float32Array.from(h, f16ToF32));
    assert.deepEqual(f.readFloat32('bf16'), Float32Array.from(bf, bf16ToF32));
  } finally {
    f.close();
  }
});

test('metadata of every value type, version 2, and ComfyUI-GGUF orig_shape', () => {
  const p = join(dir, 'kv.gguf');
  writeGguf(p, {
    version: 2,
    kv: [
      ['u8', 'u8', 200], ['i8', 'i8', -5], ['u16', 'u16', 60000], ['i16', 'i16', -3000], ['u32', 'u32', 4e9], ['i32', 'i32', -2e9],
      ['f32', 'f32', 1.5], ['b', 'bool', 1], ['s', 'string', 'héllo'], ['u64', 'u64', 2 ** 53 + 2], ['i64', 'i64', -7], ['f64', 'f64', Math.PI],
      ['arr', 'array', 'string', ['a', 'bc']], ['comfy.gguf.orig_shape.w', 'array', 'i32', [4, 2, 2, 2]],
    ],
    tensors: [{ name: 'w', type: 'F32', shape: [32], data: f32Bytes(new Float32Array(32).fill(1)) }],
  });
  const f = GgufFile.open(p);
  f.close();
  assert.equal(f.version, 2);
  const kv = Object.fromEntries(f.kv);
  assert.deepEqual([kv.u8, kv.i8, kv.u16, kv.i16, kv.u32, kv.i32, kv.f32, kv.b, kv.s, kv.u64, kv.i64, kv.f64], [200, -5, 60000, -3000, 4e9, -2e9, 1.5, true, 'héllo', 2n ** 53n + 2n, -7n, Math.PI]);
  assert.deepEqual(kv.arr, ['a', 'bc']);
  assert.equal(f.metadata.u64, '"9007199254740994"');
  assert.deepEqual(f.get('w').shape, [4, 2, 2, 2]);
});

function expectBad(name: string, spec: GgufSpec | Buffer, re: RegExp): void {
  const p = join(dir, `${name}.gguf`);
  writeFileSync(p, Buffer.isBuffer(spec) ? spec : ggufBytes(spec));
  assert.throws(() => GgufFile.open(p), (e: unknown) => {
    assert.ok(e instanceof WeftError, `${name}: ${String(e)}`);
    assert.equal(e.file, p);
    assert.ok(e.message.startsWith(p), e.message);
    assert.match(e.message, re, name);
    return true;
  });
}

test('hostile files fail with a WeftError naming the file and the field', () => {
  const w = { name: 'w', type: 'Q8_0', shape: [2, 64], data: randomBlocks('Q8_0', 4, rng(1)) };
  const good = ggufBytes({ tensors: [w], kv: [['k', 'string', 'v']] });
  expectBad('magic', Buffer.concat([Buffer.from('GGUX'), good.subarray(4)]), /not a GGUF file/);
  expectBad('short', good.subarray(0, 10), /shorter than the 24-byte header/);
  for (const cut of [30, 60, 90, good.length - 1]) expectBad(`cut${cut}`, good.subarray(0, cut), /truncated|file ends|run past/);
  expectBad('v1', { version: 1, tensors: [w] }, /version 1/);
  expectBad('v9', { version: 9, tensors: [w] }, /unsupported GGUF version 9/);
  expectBad('bigendian', { version: 0x03000000, tensors: [w] }, /big-endian/);
  expectBad('tcount', { tensorCount: 2n ** 60n, tensors: [w] }, /tensor count \d+ cannot fit/);
  expectBad('kvcount', { kvCount: 2n ** 40n, tensors: [w] }, /metadata count \d+ cannot fit/);
  expectBad('kvtype', Buffer.concat([good.subarray(0, 24 + 8 + 1), Buffer.from([99, 0, 0, 0]), good.subarray(24 + 8 + 1 + 4)]), /metadata "k": unknown value type 99/);
  expectBad('strlen', Buffer.concat([good.subarray(0, 24), Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), good.subarray(32)]), /string length \d+ runs past/);
  expectBad('unknown-type', { tensors: [{ ...w, typeId: 99 }] }, /tensor "w": unknown ggml type id 99/);
  expectBad('outside', { tensors: [{ ...w, offset: 4096n }] }, /tensor "w".*run past .*truncated/);
  expectBad('misaligned', { tensors: [{ ...w, offset: 4n }] }, /tensor "w": offset 4 is not a multiple of the alignment 32/);
  expectBad('ndims', { tensors: [{ ...w, ne: [32n, 1n, 1n, 1n, 2n] }] }, /tensor "w": 5 dims/);
  expectBad('rowblock', { tensors: [{ ...w, ne: [48n, 2n] }] }, /row length 48 is not a multiple of the Q8_0 block size 32/);
  expectBad('huge-dim', { tensors: [{ ...w, ne: [2n ** 62n, 2n] }] }, /too large|too many/);
  expectBad('overlap', { tensors: [w, { ...w, name: 'v', offset: 0n }] }, /overlap/);
  expectBad('dup', { tensors: [w, { ...w, name: 'w' }] }, /tensor "w" appears twice/);
  expectBad('align', { alignment: 48, tensors: [w] }, /general.alignment 48 is not a power of two/);
  expectBad('origshape', { kv: [['comfy.gguf.orig_shape.w', 'array', 'i32', [3, 3]]], tensors: [w] }, /orig_shape.w .* does not describe/);
  // A known type without a decoder opens (its size is known) and fails only when decoded.
  const p = join(dir, 'iq.gguf');
  writeGguf(p, { tensors: [{ name: 'iq', type: 'IQ4_XS', shape: [1, 256], data: new Uint8Array(136) }] });
  const f = GgufFile.open(p);
  try {
    assert.throws(() => f.readFloat32('iq'), /tensor "iq": ggml type IQ4_XS cannot be converted to float32/);
  } finally {
    f.close();
  }
});

test('WeightSource view: float tensors in place, quantised ones decoded once into a side file, excluded ones shape-only', () => {
  const r = rng(3);
  const q8 = randomBlocks('Q8_0', 8, r), q4k = randomBlocks('Q4_K', 2, r);
  const bias = Float32Array.from({ length: 8 }, () => r());
  const p = join(dir, 'model.gguf');
  writeGguf(p, { tensors: [
    { name: 'a.weight', type: 'Q8_0', shape: [4, 64], data: q8 },
    { name: 'b.weight', type: 'Q4_K', shape: [2, 256], data: q4k },
    { name: 'a.bias', type: 'F32', shape: [8], data: f32Bytes(bias) },
  ] });
  const cacheDir = join(dir, 'float-cache');
  const src = openGgufWeights(p, { cacheDir, dtype: 'F32', exclude: new Set(['a.weight']) });
  try {
    const loc = src.locate('a.bias');
    assert.equal(loc.path, p);
    assert.equal(loc.tensor.offset, src.gguf.get('a.bias').offset);
    assert.deepEqual(src.readFloat32('a.bias'), bias);
    assert.notEqual(src.locate('b.weight').path, p);
    assert.deepEqual(src.get('b.weight').shape, [2, 256]);
    assert.deepEqual(src.readFloat32('b.weight'), refDecode('Q4_K', q4k, 512));
    assert.deepEqual(src.get('a.weight').shape, [4, 64]);
    assert.throws(() => src.locate('a.weight'), /held as MatMulNBits codes/);
    assert.deepEqual(src.readFloat32('a.weight'), refDecode('Q8_0', q8, 256));
  } finally {
    src.close();
  }
  const [side] = readdirSync(cacheDir);
  const m0 = statSync(join(cacheDir, side!)).mtimeMs;
  openGgufWeights(p, { cacheDir, dtype: 'F32', exclude: new Set(['a.weight']) }).close();
  assert.deepEqual(readdirSync(cacheDir), [side]);
  assert.equal(statSync(join(cacheDir, side!)).mtimeMs, m0, 'the side file was rewritten instead of reused');
});

test('ggufToSafetensors: one self-contained float copy (floats byte for byte, quantised decoded), written once', () => {
  const r = rng(5);
  const q5 = randomBlocks('Q5_1', 4, r);
  const h = Uint16Array.from({ length: 6 }, () => f32ToF16(r()));
  const p = join(dir, 'copy.gguf');
  writeGguf(p, { tensors: [{ name: 'q', type: 'Q5_1', shape: [2, 64], data: q5 }, { name: 'h', type: 'F16', shape: [2, 3], data: new Uint8Array(h.buffer) }] });
  const cacheDir = join(dir, 'copy-cache');
  const out = ggufToSafetensors(p, cacheDir, 'F32');
  assert.equal(ggufToSafetensors(p, cacheDir, 'F32'), out);
  assert.equal(readdirSync(cacheDir).length, 1);
  const st = SafetensorsFile.open(out);
  try {
    assert.deepEqual([st.get('q').dtype, st.get('q').shape, st.get('h').dtype, st.get('h').shape], ['F32', [2, 64], 'F16', [2, 3]]);
    assert.deepEqual(st.readFloat32('q'), refDecode('Q5_1', q5, 128));
    assert.deepEqual(new Uint8Array(st.readRaw('h')), new Uint8Array(h.buffer));
  } finally {
    st.close();
  }
});

test('openGgufTable: shapes and decoding without writing anything', () => {
  const r = rng(8);
  const q = randomBlocks('Q6_K', 2, r);
  const p = join(dir, 'table.gguf');
  writeGguf(p, { tensors: [{ name: 'double_blocks.0.img_mlp.0.weight', type: 'Q6_K', shape: [2, 256], data: q }] });
  const t = openGgufTable(p);
  try {
    assert.equal(t.side, null);
    assert.deepEqual(t.get('double_blocks.0.img_mlp.0.weight').shape, [2, 256]);
    assert.deepEqual(t.readFloat32('double_blocks.0.img_mlp.0.weight'), refDecode('Q6_K', q, 512));
  } finally {
    t.close();
  }
});
