import { defineNode } from '../../engine/graph/node.ts';

// ±sys.maxsize as Python turns it into a float for the widget range.
const MAXSIZE = 9223372036854775807;

/** A float constant (comfy_extras/nodes_primitive.py Float). */
export const PrimitiveFloat = defineNode({
  name: 'PrimitiveFloat',
  displayName: 'Float',
  category: 'utils/primitive',
  inputs: {
    required: {
      value: { type: 'FLOAT', min: -MAXSIZE, max: MAXSIZE, step: 0.1 },
    },
  },
  outputs: [{ type: 'FLOAT' }],
  run({ value }) {
    return [value];
  },
});
