import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ControlNetLoader',
  displayName: 'Load ControlNet Model',
  category: 'loaders',
  inputs: {
    required: {
      control_net_name: { type: 'COMBO', options: { kind: 'models', folder: 'controlnet' } },
    },
  },
  outputs: [{ type: 'CONTROL_NET' }],
});
