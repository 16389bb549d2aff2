import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'DiffControlNetLoader',
  displayName: 'Load ControlNet Model (diff)',
  category: 'loaders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      control_net_name: { type: 'COMBO', options: { kind: 'models', folder: 'controlnet' } },
    },
  },
  outputs: [{ type: 'CONTROL_NET' }],
});
