import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'GLIGENLoader',
  category: 'loaders',
  inputs: {
    required: {
      gligen_name: { type: 'COMBO', options: { kind: 'models', folder: 'gligen' } },
    },
  },
  outputs: [{ type: 'GLIGEN' }],
});
