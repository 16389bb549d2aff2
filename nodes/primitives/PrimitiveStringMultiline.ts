import { defineNode } from '../../engine/graph/node.ts';

/** A multi-line string constant (comfy_extras/nodes_primitive.py StringMultiline). */
export const PrimitiveStringMultiline = defineNode({
  name: 'PrimitiveStringMultiline',
  displayName: 'String (Multiline)',
  category: 'utils/primitive',
  inputs: { required: { value: { type: 'STRING', multiline: true } } },
  outputs: [{ type: 'STRING' }],
  run({ value }) {
    return [value];
  },
});
