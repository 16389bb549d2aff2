import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ImageColorToMask',
  category: 'mask',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      color: { type: 'INT', default: 0, min: 0, max: 16777215, step: 1, display: 'color' },
    },
  },
  outputs: [{ type: 'MASK' }],
});
