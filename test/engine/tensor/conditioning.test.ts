import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import type { Conditioning } from '../../../engine/graph/sockets.ts';
import {
  averageConditioning,
  checkConditioning,
  combineConditioning,
  concatConditioning,
  setConditioningValues,
  zeroOutConditioning,
} from '../../../engine/tensor/conditioning.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-6) => {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol, `[${i}] ${got[i]} vs ${want[i]}`);
};
const pooled = (p: Tensor) => p;

test('setConditioningValues copies options per entry and leaves the input alone', () => {
  const t = tensor([1, 1, 2], [1, 2]);
  const cond: Conditioning = [[t, { pooled_output: t, keep: 1 }], [t, { strength: 5 }]];
  const out = setConditioningValues(cond, { strength: 0.5, set_area_to_bounds: false });
  assert.deepEqual(out[0][1], { pooled_output: t, keep: 1, strength: 0.5, set_area_to_bounds: false });
  assert.equal(out[1][1].strength, 0.5);
  assert.equal(out[0][0], t);
  assert.deepEqual(cond[1][1], { strength: 5 });
});

test('ConditioningCombine is list concatenation in order', () => {
  const a: Conditioning = [[tensor([1, 1, 1], [1]), {}]];
  const b: Conditioning = [[tensor([1, 1, 1], [2]), {}], [tensor([1, 1, 1], [3]), {}]];
  assert.deepEqual(combineConditioning(a, b).map((e) => e[0].data[0]), [1, 2, 3]);
});

test('ConditioningAverage: tokens cut or zero-padded to the target length, pooled mixed', () => {
  const to: Conditioning = [[tensor([1, 2, 2], [1, 2, 3, 4]), { pooled_output: tensor([1, 2], [10, 20]), tag: 'to' }]];
  const longer: Conditioning = [[tensor([1, 3, 2], [5, 6, 7, 8, 9, 9]), { pooled_output: tensor([1, 2], [30, 40]) }]];
  const a = averageConditioning(to, longer, 0.25);
  assert.deepEqual(a[0][0].shape, [1, 2, 2]);
  // 0.25·to + 0.75·from[:, :2]
  close(a[0][0].data, [0.25 * 1 + 0.75 * 5, 0.25 * 2 + 0.75 * 6, 0.25 * 3 + 0.75 * 7, 0.25 * 4 + 0.75 * 8]);
  close(pooled(a[0][1].pooled_output as Tensor).data, [0.25 * 10 + 0.75 * 30, 0.25 * 20 + 0.75 * 40]);
  assert.equal(a[0][1].tag, 'to');
  const shorter: Conditioning = [[tensor([1, 1, 2], [8, 8]), {}]];
  close(averageConditioning(to, shorter, 0.5)[0][0].data, [4.5, 5, 1.5, 2]);
  // An entry without pooled_output takes the source's.
  const bare: Conditioning = [[tensor([1, 2, 2], [0, 0, 0, 0]), {}]];
  close((averageConditioning(bare, longer, 0.9)[0][1].pooled_output as Tensor).data, [30, 40], 1e-5);
  assert.throws(() => averageConditioning(to, [[tensor([1, 2, 3]), {}]], 0.5), (e: WeftError) => e.input === 'conditioning_from');
});

test('ConditioningConcat appends the first source entry\'s tokens to each target', () => {
  const to: Conditioning = [[tensor([1, 2, 2], [1, 2, 3, 4]), { a: 1 }], [tensor([1, 1, 2], [0, 0]), {}]];
  const from: Conditioning = [[tensor([1, 1, 2], [7, 8]), {}], [tensor([1, 1, 2], [9, 9]), {}]];
  const out = concatConditioning(to, from);
  assert.deepEqual(out[0][0].shape, [1, 3, 2]);
  assert.deepEqual([...out[0][0].data], [1, 2, 3, 4, 7, 8]);
  assert.deepEqual([...out[1][0].data], [0, 0, 7, 8]);
  assert.deepEqual(out[0][1], { a: 1 });
  assert.notEqual(out[0][1], to[0][1]);
  assert.throws(() => concatConditioning(to, [[tensor([1, 1, 3]), {}]]), (e: WeftError) => e.input === 'conditioning_from');
});

test('ConditioningZeroOut zeros tokens and pooled_output and keeps the rest', () => {
  const cond: Conditioning = [[tensor([1, 2, 2], [1, 2, 3, 4]), { pooled_output: tensor([1, 2], [5, 6]), guidance: 3.5 }]];
  const z = zeroOutConditioning(cond);
  assert.deepEqual(z[0][0].shape, [1, 2, 2]);
  assert.ok(z[0][0].data.every((v) => v === 0));
  assert.deepEqual([...(z[0][1].pooled_output as Tensor).data], [0, 0]);
  assert.equal(z[0][1].guidance, 3.5);
  assert.deepEqual([...cond[0][0].data], [1, 2, 3, 4]);
});

test('checkConditioning names the input on malformed lists', () => {
  assert.throws(() => checkConditioning(undefined as never, 'conditioning'), (e: WeftError) => e.input === 'conditioning');
  assert.throws(() => checkConditioning([[tensor([2, 2]), {}]], 'conditioning_1'), (e: WeftError) => e.input === 'conditioning_1');
  assert.throws(() => checkConditioning([], 'conditioning_from', true), (e: WeftError) => e.input === 'conditioning_from');
});
