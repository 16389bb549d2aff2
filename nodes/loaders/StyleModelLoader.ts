import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'StyleModelLoader',
  displayName: 'Load Style Model',
  category: 'loaders',
  inputs: {
    required: {
      style_model_name: { type: 'COMBO', options: { kind: 'models', folder: 'style_models' } },
    },
  },
  outputs: [{ type: 'STYLE_MODEL' }],
});
