import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { TorchGenerator, randn, prepareNoise } from '../../../engine/sampling/rng.ts';
import { readCaseTensors } from '../../../engine/conformance/runner.ts';

const VEC = new URL('../../../../shared/conformance/vectors/randn_seed_0.safetensors', import.meta.url).pathname;

test('torch.manual_seed(0); torch.randn(1) is 1.5409960746765137 (scalar double path)', () => {
  assert.equal(randn(0, [1])[0], Math.fround(1.5409960746765137));
});

test('seeds use the low 32 bits; 2^64-1 and 2^32-1 give the same stream', () => {
  assert.deepEqual(randn(18446744073709551615n, [20]), randn(4294967295n, [20]));
  assert.notDeepEqual(randn(1, [20]), randn(2, [20]));
});

test('scalar path caches the second Box-Muller value inside the generator', () => {
  const g = new TorchGenerator(7);
  const a = g.randn(1)[0]!;
  const b = g.randn(1)[0]!;
  const pair = new TorchGenerator(7).randn(2);
  assert.equal(a, pair[0]);
  assert.equal(b, pair[1]);
  g.manualSeed(7);
  assert.equal(g.randn(1)[0], a, 'manual_seed clears the cache');
});

test('vectorised path: statistics and the redrawn tail block', () => {
  const v = randn(123, [4, 64, 64]);
  let m = 0, s = 0;
  for (const x of v) { m += x; s += x * x; }
  m /= v.length; s = Math.sqrt(s / v.length - m * m);
  assert.ok(Math.abs(m) < 0.03 && Math.abs(s - 1) < 0.03, `mean ${m} std ${s}`);
  // n=17: the first element comes from the first block, the last 16 from a fresh redrawn block.
  const a = randn(5, [17]);
  const b = randn(5, [16]);
  assert.equal(a[0], b[0]);
  assert.notEqual(a[16], b[15]);
});

test('matches torch vectors (shared/conformance) when present', { skip: !existsSync(VEC) && 'no shared conformance folder' }, () => {
  const t = readCaseTensors(VEC);
  for (const [name, ref] of t) {
    const got = randn(0, ref.shape);
    const exp = ref.data as Float32Array;
    let err = 0;
    for (let i = 0; i < exp.length; i++) err = Math.max(err, Math.abs(got[i]! - exp[i]!));
    assert.ok(err <= 2e-6, `${name}: ${err}`);
  }
});

test('prepareNoise honours batch_index and continues the stream', () => {
  const full = prepareNoise([3, 2, 2, 4], 9).noise;
  const picked = prepareNoise([2, 2, 2, 4], 9, [2, 0]).noise;
  assert.deepEqual(picked.subarray(0, 16), randnRow(9, 2));
  assert.deepEqual(picked.subarray(16), randnRow(9, 0));
  assert.equal(full.length, 48);
  const { generator } = prepareNoise([1, 4, 4, 4], 3);
  const stream = new TorchGenerator(3);
  stream.randn(64);
  assert.deepEqual(generator.randn(64), stream.randn(64));
});

function randnRow(seed: number, row: number): Float32Array {
  const g = new TorchGenerator(seed);
  let r = g.randn(16);
  for (let i = 0; i < row; i++) r = g.randn(16);
  return r;
}
