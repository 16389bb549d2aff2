/**
 * numpy SeedSequence and Python round() as torchsde relies on them. The structural tests hold without
 * anything external; when python3 with numpy is installed, the outputs are also checked against numpy
 * itself (the reference oracle), and those tests skip cleanly where it is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { SeedSequence, toUint32Words } from '../../../engine/sampling/torchsde/seed-sequence.ts';
import { pyRound } from '../../../engine/sampling/torchsde/round.ts';

/** Runs a Python snippet that prints JSON; null when python3 or numpy is not available. */
function python(code: string): unknown {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0 || !r.stdout) return null;
  return JSON.parse(r.stdout);
}
const hasNumpy = python('import numpy, json; print(json.dumps(1))') === 1;
const noNumpy = hasNumpy ? false : 'python3 with numpy not available';

test('entropy integers become little-endian uint32 words', () => {
  assert.deepEqual(toUint32Words(0), [0]);
  assert.deepEqual(toUint32Words(42), [42]);
  assert.deepEqual(toUint32Words(2n ** 32n + 7n), [7, 1]);
  assert.deepEqual(toUint32Words([5, [2n ** 64n - 1n]]), [5, 0xffffffff, 0xffffffff]);
  assert.throws(() => toUint32Words(-1), RangeError);
  assert.throws(() => toUint32Words(1.5), TypeError);
});

test('generate_state is deterministic and every input part matters', () => {
  const a = new SeedSequence(42, { poolSize: 24 }).generateState(8);
  assert.deepEqual(new SeedSequence(42, { poolSize: 24 }).generateState(8), a);
  assert.notDeepEqual(new SeedSequence(43, { poolSize: 24 }).generateState(8), a);
  assert.notDeepEqual(new SeedSequence(42, { poolSize: 8 }).generateState(8), a);
  assert.notDeepEqual(new SeedSequence(42, { spawnKey: [0], poolSize: 24 }).generateState(8), a);
  // A prefix of a longer request is the shorter request.
  assert.deepEqual(new SeedSequence(42, { poolSize: 24 }).generateState(3), a.slice(0, 3));
  assert.throws(() => new SeedSequence(1, { poolSize: 3 }), RangeError);
});

test('spawn keys children by a running index, as SeedSequence(entropy, spawn_key=(…, i))', () => {
  const parent = new SeedSequence(7, { spawnKey: [3] });
  const first = parent.spawn(2);
  const second = parent.spawn(1);
  assert.deepEqual(first.map((c) => c.spawnKey), [[3, 0], [3, 1]]);
  assert.deepEqual(second[0]!.spawnKey, [3, 2]);
  assert.equal(parent.nChildrenSpawned, 3);
  assert.deepEqual(first[1]!.generateState(4), new SeedSequence(7, { spawnKey: [3, 1] }).generateState(4));
});

test('uint64 state pairs consecutive uint32 words little-endian', () => {
  const s = new SeedSequence(2n ** 70n + 5n, { spawnKey: [9n, 2] });
  const w32 = s.generateState(4);
  const w64 = s.generateState(2, 'uint64');
  assert.equal(w64[0], (BigInt(w32[1]!) << 32n) | BigInt(w32[0]!));
  assert.equal(w64[1], (BigInt(w32[3]!) << 32n) | BigInt(w32[2]!));
});

test('SeedSequence matches numpy for torchsde-shaped inputs', { skip: noNumpy }, () => {
  const inputs: Array<[bigint, Array<bigint>, number, number]> = [
    [42n, [], 24, 3],
    [42n, [0n, 0n], 24, 4],
    [0n, [5n, 3n], 24, 4],
    [2n ** 64n - 1n, [123456n, 17n], 24, 4],
    [2n ** 70n + 5n, [2n ** 40n + 3n, 41n], 24, 4],
    [987654321n, [], 4, 9],
    [987654321n, [1n], 4, 9],
  ];
  const py = inputs.map(([e, k, p, n]) => `list(map(int, np.random.SeedSequence(entropy=${e}, spawn_key=(${k.join(',')}${k.length === 1 ? ',' : ''}), pool_size=${p}).generate_state(${n})))`);
  const want = python(`import numpy as np, json; print(json.dumps([${py.join(',')}]))`) as number[][];
  inputs.forEach(([e, k, p, n], i) => {
    assert.deepEqual(Array.from(new SeedSequence(e, { spawnKey: k, poolSize: p }).generateState(n)), want[i], `entropy ${e} key [${k}]`);
  });
  const kids = python('import numpy as np, json; s = np.random.SeedSequence(11); print(json.dumps([list(map(int, c.generate_state(2))) for c in s.spawn(3)]))') as number[][];
  assert.deepEqual(new SeedSequence(11).spawn(3).map((c) => Array.from(c.generateState(2))), kids);
});

test('pyRound rounds like Python: correctly rounded, exact dyadic ties to even', () => {
  // Ties exist only at m/2^(d+1): 1/128 = 0.0078125 ties at 6 digits and goes to the even neighbour.
  assert.equal(pyRound(1 / 128, 6), 0.007812);
  assert.equal(pyRound(3 / 128, 6), 0.023438);
  assert.equal(pyRound(-1 / 128, 6), -0.007812);
  assert.equal(pyRound(2.5, 0), 2);
  assert.equal(pyRound(3.5, 0), 4);
  // Non-ties: the decimal nearest to the exact binary value (2.675 is stored below 2.675).
  assert.equal(pyRound(2.675, 2), 2.67);
  for (const x of [14.614640235900879, 0.029167160391807556, 7.30732011795044, 1e-7, 123.4567895]) {
    assert.equal(pyRound(x, 6), Number(x.toFixed(6)), String(x));
    assert.ok(Math.abs(pyRound(x, 6) - x) <= 5e-7 * (1 + 1e-9), String(x));
  }
  assert.equal(pyRound(Infinity, 6), Infinity);
});

test('pyRound matches Python on many values', { skip: noNumpy }, () => {
  const xs: number[] = [];
  for (let i = 0; i < 400; i++) xs.push(Math.fround(Math.exp(Math.sin(i * 12.9898) * 4)));
  for (let m = 1; m < 64; m += 2) xs.push(m / 128, (m + 1000) / 128);
  const want = python(`import json; xs = json.loads('${JSON.stringify(xs)}'); print(json.dumps([round(x, 6) for x in xs]))`) as number[];
  xs.forEach((x, i) => assert.equal(pyRound(x, 6), want[i], String(x)));
});
