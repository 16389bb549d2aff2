import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'UNETLoader',
  displayName: 'Load Diffusion Model',
  category: 'advanced/loaders',
  inputs: {
    required: {
      unet_name: { type: 'COMBO', options: { kind: 'models', folder: 'diffusion_models' } },
      weight_dtype: { type: 'COMBO', options: ['default', 'fp8_e4m3fn', 'fp8_e4m3fn_fast', 'fp8_e5m2'] },
    },
  },
  outputs: [{ type: 'MODEL' }],
});
