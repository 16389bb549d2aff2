import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../../engine/errors.ts';
import type { Conditioning } from '../../../engine/graph/sockets.ts';
import { tensor, type Tensor } from '../../../engine/tensor/tensor.ts';
import ConditioningAverage from '../../../nodes/conditioning/ConditioningAverage.ts';
import ConditioningCombine from '../../../nodes/conditioning/ConditioningCombine.ts';
import ConditioningConcat from '../../../nodes/conditioning/ConditioningConcat.ts';
import ConditioningSetArea from '../../../nodes/conditioning/ConditioningSetArea.ts';
import ConditioningSetAreaPercentage from '../../../nodes/conditioning/ConditioningSetAreaPercentage.ts';
import ConditioningSetAreaStrength from '../../../nodes/conditioning/ConditioningSetAreaStrength.ts';
import ConditioningSetMask from '../../../nodes/conditioning/ConditioningSetMask.ts';
import ConditioningSetTimestepRange from '../../../nodes/conditioning/ConditioningSetTimestepRange.ts';
import ConditioningZeroOut from '../../../nodes/conditioning/ConditioningZeroOut.ts';
import { runNode } from '../latent/run.ts';

const cond = (v: number, opts: Record<string, unknown> = {}): Conditioning => [[tensor([1, 2, 2], [v, v, v, v]), { pooled_output: tensor([1, 2], [v, v]), ...opts }]];

test('ConditioningSetArea stores the area in latent units: [h/8, w/8, y/8, x/8]', async () => {
  const [out] = (await runNode(ConditioningSetArea, { conditioning: cond(1), width: 200, height: 120, x: 17, y: 9, strength: 0.8 })) as Conditioning[];
  assert.deepEqual(out[0][1].area, [15, 25, 1, 2]);
  assert.equal(out[0][1].strength, 0.8);
  assert.equal(out[0][1].set_area_to_bounds, false);
  const [pct] = (await runNode(ConditioningSetAreaPercentage, { conditioning: cond(1), width: 0.5, height: 0.25, x: 0.1, y: 0.2, strength: 1 })) as Conditioning[];
  assert.deepEqual(pct[0][1].area, ['percentage', 0.25, 0.5, 0.2, 0.1]);
  const [st] = (await runNode(ConditioningSetAreaStrength, { conditioning: out, strength: 3 })) as Conditioning[];
  assert.equal(st[0][1].strength, 3);
  assert.deepEqual(st[0][1].area, [15, 25, 1, 2]);
  await assert.rejects(runNode(ConditioningSetArea, { conditioning: [[tensor([4]), {}]], width: 64, height: 64, x: 0, y: 0, strength: 1 }), (e: WeftError) => e.input === 'conditioning');
});

test('ConditioningSetMask and ConditioningSetTimestepRange use ComfyUI\'s option keys', async () => {
  const mask = tensor([8, 8]);
  const [m] = (await runNode(ConditioningSetMask, { conditioning: cond(1), mask, strength: 0.7, set_cond_area: 'mask bounds' })) as Conditioning[];
  assert.deepEqual((m[0][1].mask as Tensor).shape, [1, 8, 8]);
  assert.equal(m[0][1].set_area_to_bounds, true);
  assert.equal(m[0][1].mask_strength, 0.7);
  const [d] = (await runNode(ConditioningSetMask, { conditioning: cond(1), mask, strength: 1, set_cond_area: 'default' })) as Conditioning[];
  assert.equal(d[0][1].set_area_to_bounds, false);
  const [r] = (await runNode(ConditioningSetTimestepRange, { conditioning: cond(1), start: 0.2, end: 0.6 })) as Conditioning[];
  assert.equal(r[0][1].start_percent, 0.2);
  assert.equal(r[0][1].end_percent, 0.6);
});

test('Combine, Average, Concat, ZeroOut', async () => {
  const [both] = (await runNode(ConditioningCombine, { conditioning_1: cond(1), conditioning_2: cond(2) })) as Conditioning[];
  assert.deepEqual(both.map((e) => e[0].data[0]), [1, 2]);
  const warnings: string[] = [];
  const [avg] = (await runNode(ConditioningAverage, { conditioning_to: cond(1), conditioning_from: [...cond(3), ...cond(9)], conditioning_to_strength: 0.5 }, warnings)) as Conditioning[];
  assert.deepEqual([...avg[0][0].data], [2, 2, 2, 2]);
  assert.deepEqual([...(avg[0][1].pooled_output as Tensor).data], [2, 2]);
  assert.equal(warnings.length, 1);
  const [cat] = (await runNode(ConditioningConcat, { conditioning_to: cond(1), conditioning_from: cond(5) })) as Conditioning[];
  assert.deepEqual(cat[0][0].shape, [1, 4, 2]);
  await assert.rejects(runNode(ConditioningConcat, { conditioning_to: cond(1), conditioning_from: [] }), (e: WeftError) => e.input === 'conditioning_from');
  const [z] = (await runNode(ConditioningZeroOut, { conditioning: cond(4, { guidance: 3.5 }) })) as Conditioning[];
  assert.ok(z[0][0].data.every((v) => v === 0));
  assert.ok((z[0][1].pooled_output as Tensor).data.every((v) => v === 0));
  assert.equal(z[0][1].guidance, 3.5);
});
