import { defineNode } from '../../engine/graph/node.ts';

/** A one-line string constant (comfy_extras/nodes_primitive.py String). */
export const PrimitiveString = defineNode({
  name: 'PrimitiveString',
  displayName: 'String',
  category: 'utils/primitive',
  inputs: { required: { value: { type: 'STRING' } } },
  outputs: [{ type: 'STRING' }],
  run({ value }) {
    return [value];
  },
});
