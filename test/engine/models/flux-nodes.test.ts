import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Conditioning } from '../../../engine/graph/sockets.ts';
import { tensor } from '../../../engine/tensor/tensor.ts';
import FluxGuidance from '../../../nodes/flux/FluxGuidance.ts';
import { runNode } from '../../nodes/latent/run.ts';

test('FluxGuidance sets `guidance` on every entry, keeping the other options and the input untouched', async () => {
  const pooled = tensor([1, 2], [1, 2]);
  const cond: Conditioning = [[tensor([1, 2, 3]), { pooled_output: pooled }], [tensor([1, 2, 3]), { guidance: 1, strength: 0.5 }]];
  const [out] = (await runNode(FluxGuidance, { conditioning: cond, guidance: 4.5 })) as Conditioning[];
  assert.equal(out.length, 2);
  assert.equal(out[0]![1].guidance, 4.5);
  assert.equal(out[0]![1].pooled_output, pooled);
  assert.equal(out[1]![1].guidance, 4.5);
  assert.equal(out[1]![1].strength, 0.5);
  assert.equal(cond[1]![1].guidance, 1, 'the input conditioning was mutated');
  await assert.rejects(runNode(FluxGuidance, { conditioning: undefined, guidance: 3.5 }));
});
