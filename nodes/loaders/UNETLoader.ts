import { defineNode } from '../../engine/graph/node.ts';
import { cacheDirOf, loadDiffusionModel } from '../../engine/models/sd/index.ts';

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
  // fp8 storage types only save GPU memory in PyTorch; weights run at their file precision here.
  run: ({ unet_name }, ctx) => [loadDiffusionModel(ctx.services.folders.resolveModel('diffusion_models', unet_name), { cacheDir: cacheDirOf(ctx.services) })],
});
