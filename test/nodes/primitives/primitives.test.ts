import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodes, PrimitiveInt, PrimitiveFloat, PrimitiveString, PrimitiveStringMultiline, PrimitiveBoolean } from '../../../nodes/primitives/index.ts';
import { NodeRegistry } from '../../../engine/graph/registry.ts';

type Run = (inputs: Record<string, unknown>, ctx: never) => unknown[];
const run = (def: { run?: unknown }, value: unknown) => (def.run as Run)({ value }, undefined as never);

test('primitives pass their value through', () => {
  assert.deepEqual(run(PrimitiveFloat, 0.1), [0.1]);
  assert.deepEqual(run(PrimitiveString, 'a b'), ['a b']);
  assert.deepEqual(run(PrimitiveStringMultiline, 'x\ny'), ['x\ny']);
  assert.deepEqual(run(PrimitiveBoolean, false), [false]);
});

test('PrimitiveInt is exact beyond 2^53 and a plain number otherwise', () => {
  assert.deepEqual(run(PrimitiveInt, 42n), [42]);
  assert.equal(typeof run(PrimitiveInt, -7n)[0], 'number');
  const big = 2n ** 62n + 1n;
  assert.deepEqual(run(PrimitiveInt, big), [big]);
});

test('schemas follow comfy_extras/nodes_primitive.py', () => {
  const info = new NodeRegistry().register(...nodes).objectInfo({ listModels: () => [], listInput: () => [] }) as Record<string, any>;
  assert.deepEqual(Object.keys(info).sort(), ['PrimitiveBoolean', 'PrimitiveFloat', 'PrimitiveInt', 'PrimitiveString', 'PrimitiveStringMultiline']);
  const int = info.PrimitiveInt.input.required.value;
  assert.equal(int[0], 'INT');
  assert.equal(int[1].control_after_generate, true);
  assert.equal(BigInt(int[1].max), 2n ** 63n - 1n);
  assert.equal(BigInt(int[1].min), -(2n ** 63n - 1n));
  assert.equal(info.PrimitiveFloat.input.required.value[1].step, 0.1);
  assert.equal(info.PrimitiveStringMultiline.input.required.value[1].multiline, true);
  assert.equal(info.PrimitiveStringMultiline.display_name, 'String (Multiline)');
  for (const n of Object.values(info)) assert.equal(n.category, 'utils/primitive');
});
