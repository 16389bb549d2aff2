import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'UpscaleModelLoader',
  displayName: 'Load Upscale Model',
  category: 'loaders',
  inputs: {
    required: {
      model_name: { type: 'COMBO', options: { kind: 'models', folder: 'upscale_models' } },
    },
  },
  outputs: [{ type: 'UPSCALE_MODEL' }],
});
