import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'HypernetworkLoader',
  category: 'loaders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      hypernetwork_name: { type: 'COMBO', options: { kind: 'models', folder: 'hypernetworks' } },
      strength: { type: 'FLOAT', default: 1.0, min: -10.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
});
