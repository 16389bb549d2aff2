import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SafetensorsFile, writeSafetensors, f16ToF32, f32ToF16, bf16ToF32, f32ToBf16, f8e4m3ToF32, f8e5m2ToF32, dtypeSize,
} from '../../../engine/io/safetensors.ts';
import { WeftError } from '../../../engine/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-st-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function rawFile(name: string, header: unknown, data: Uint8Array = new Uint8Array(0), lenOverride?: bigint): string {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lenOverride ?? BigInt(h.length));
  const p = join(dir, name);
  writeFileSync(p, Buffer.concat([len, h, data]));
  return p;
}

test('round trip: every dtype, metadata, absolute offsets, aligned data section', () => {
  const p = join(dir, 'rt.safetensors');
  const f16 = new Uint16Array([f32ToF16(1.5), f32ToF16(-2), f32ToF16(65504), f32ToF16(6e-8)]);
  const bf = new Uint16Array([f32ToBf16(3.140625), f32ToBf16(-1e30)]);
  writeSafetensors(p, {
    a: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    h: { dtype: 'F16', shape: [4], data: f16 },
    b: { dtype: 'BF16', shape: [2], data: bf },
    i: { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, -2n, 1n << 40n]) },
    d: { dtype: 'F64', shape: [1], data: new Float64Array([0.1]) },
    e: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    q: { dtype: 'I8', shape: [2], data: new Int8Array([-5, 7]) },
  }, { format: 'pt', note: 'ü' });
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), [], 'no temp file left behind');
  const f = SafetensorsFile.open(p);
  try {
    assert.equal(f.dataStart % 8, 0);
    assert.deepEqual(f.metadata, { format: 'pt', note: 'ü' });
    assert.deepEqual([...f.tensors.keys()], ['a', 'h', 'b', 'i', 'd', 'e', 'q']);
    assert.deepEqual(f.tensors.get('a'), { name: 'a', dtype: 'F32', shape: [2, 3], offset: f.dataStart, byteLength: 24 });
    assert.deepEqual([...f.readFloat32('a')], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...f.readFloat32('h')], [1.5, -2, 65504, f16ToF32(f32ToF16(6e-8))]);
    assert.ok(Math.abs(f16ToF32(f32ToF16(6e-8)) - 5.96e-8) < 1e-9, 'subnormal half kept');
    assert.deepEqual([...f.readFloat32('b')], [3.140625, bf16ToF32(f32ToBf16(-1e30))]);
    assert.deepEqual([...f.readBigInt64('i')], [1n, -2n, 1n << 40n]);
    assert.deepEqual([...f.readFloat32('i')], [1, -2, 2 ** 40]);
    assert.equal(f.readFloat32('d')[0], Math.fround(0.1));
    assert.equal(f.readFloat32('e').length, 0);
    assert.deepEqual([...f.readBigInt64('q')], [-5n, 7n]);
    // offset is absolute: the bytes at that position in the file are the tensor.
    const whole = readFileSync(p);
    const t = f.tensors.get('h')!;
    assert.deepEqual(whole.subarray(t.offset, t.offset + t.byteLength), f.readRaw('h'));
    assert.ok(f.has('a') && !f.has('zz'));
    assert.throws(() => f.readRaw('zz'), /no tensor named "zz"/);
    assert.throws(() => f.readBigInt64('a'), /not an integer type/);
  } finally {
    f.close();
  }
  assert.throws(() => f.readRaw('a'), /closed/);
});

test('half, bfloat16 and float8 conversions', () => {
  assert.equal(f16ToF32(0x3c00), 1);
  assert.equal(f16ToF32(0xfc00), -Infinity);
  assert.ok(Number.isNaN(f16ToF32(0x7e00)));
  assert.equal(f32ToF16(1e6), 0x7c00, 'overflow → inf');
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00, 'ties to even');
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02, 'ties to even (odd rounds up)');
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(f8e4m3ToF32(0x38), 1);
  assert.equal(f8e4m3ToF32(0x7e), 448);
  assert.ok(Number.isNaN(f8e4m3ToF32(0x7f)));
  assert.equal(f8e4m3ToF32(0x01), 2 ** -9);
  assert.equal(f8e5m2ToF32(0x3c), 1);
  assert.equal(f8e5m2ToF32(0x7b), 57344);
  assert.equal(dtypeSize('BF16'), 2);
});

test('hostile and broken headers are refused with the file named', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['huge', rawFile('huge.st', {}, undefined, 1n << 40n), /exceeds/],
    ['past end', rawFile('past.st', {}, undefined, 5000n), /past the end/],
    ['not json', rawFile('nojson.st', '{"a": '), /not valid JSON/],
    ['array', rawFile('arr.st', '[1,2]'), /not a JSON object/],
    ['dtype', rawFile('dt.st', { x: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)), /tensor "x": unknown dtype/],
    ['shape', rawFile('sh.st', { x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /shape/],
    ['span', rawFile('span.st', { x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs 12 bytes/],
    ['outside', rawFile('out.st', { x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), /run past/],
    ['overlap', rawFile('ov.st', { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)), /overlap/],
    ['meta', rawFile('meta.st', { __metadata__: { a: 1 } }), /__metadata__\.a is not a string/],
    ['offsets', rawFile('offs.st', { x: { dtype: 'F32', shape: [1], data_offsets: [4] } }, new Uint8Array(4)), /data_offsets/],
  ];
  const bad = join(dir, 'utf8.st');
  const h = Buffer.from([0x7b, 0xff, 0x7d]);
  const len = Buffer.alloc(8); len.writeBigUInt64LE(3n);
  writeFileSync(bad, Buffer.concat([len, h]));
  cases.push(['utf8', bad, /UTF-8/]);
  const tiny = join(dir, 'tiny.st');
  writeFileSync(tiny, Buffer.from([1, 2, 3]));
  cases.push(['tiny', tiny, /not a safetensors file/]);
  for (const [label, p, re] of cases) {
    assert.throws(() => SafetensorsFile.open(p), (e: unknown) => {
      assert.ok(e instanceof WeftError, label);
      assert.match(e.message, re, label);
      assert.ok(e.message.includes(p), `${label}: message names the file`);
      assert.equal(e.file, p);
      return true;
    });
  }
  assert.throws(() => SafetensorsFile.open(join(dir, 'missing.st')), /cannot open/);
});

test('writer refuses a data/shape mismatch and leaves nothing behind', () => {
  const p = join(dir, 'mismatch.safetensors');
  assert.throws(() => writeSafetensors(p, { x: { dtype: 'F16', shape: [3], data: new Float32Array(3) } }), /tensor "x".*needs 6 bytes/);
  assert.equal(existsSync(p), false);
});

test('reads the conformance SD1.5 checkpoint lazily', { skip: !existsSync('../shared/conformance/models/tiny_sd15.safetensors') }, () => {
  const p = '../shared/conformance/models/tiny_sd15.safetensors';
  const f = SafetensorsFile.open(p);
  try {
    assert.ok(f.tensors.size > 100);
    let total = 0;
    for (const t of f.tensors.values()) total += t.byteLength;
    assert.ok(total <= statSync(p).size);
    const key = 'model.diffusion_model.input_blocks.0.0.weight';
    assert.ok(f.has(key));
    const t = f.tensors.get(key)!;
    assert.equal(t.shape[1], 4);
    assert.equal(f.readFloat32(key).length, t.shape.reduce((a, b) => a * b, 1));
  } finally {
    f.close();
  }
});
