import { defineNode } from '../../engine/graph/node.ts';

/** A boolean constant (comfy_extras/nodes_primitive.py Boolean). */
export const PrimitiveBoolean = defineNode({
  name: 'PrimitiveBoolean',
  displayName: 'Boolean',
  category: 'utils/primitive',
  inputs: { required: { value: { type: 'BOOLEAN' } } },
  outputs: [{ type: 'BOOLEAN' }],
  run({ value }) {
    return [value];
  },
});
