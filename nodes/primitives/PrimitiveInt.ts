import { defineNode } from '../../engine/graph/node.ts';

// Python's sys.maxsize: the widget range of ComfyUI's Int primitive.
const MAXSIZE = 9223372036854775807n;

/** An integer constant (comfy_extras/nodes_primitive.py Int). Exact beyond 2^53, as seeds need. */
export const PrimitiveInt = defineNode({
  name: 'PrimitiveInt',
  displayName: 'Int',
  category: 'utils/primitive',
  inputs: {
    required: {
      value: { type: 'INT', min: -MAXSIZE, max: MAXSIZE, control_after_generate: true, big: true },
    },
  },
  outputs: [{ type: 'INT' }],
  run({ value }) {
    // Consumers compute with numbers; only values a double cannot hold stay bigint.
    const n = Number(value);
    return [(Number.isSafeInteger(n) ? n : value) as number];
  },
});
