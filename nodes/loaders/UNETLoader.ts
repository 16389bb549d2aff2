import { defineNode } from '../../engine/graph/node.ts';
import { cacheDirOf, loadDiffusionModel } from '../../engine/models/sd/index.ts';
import { withWeightDtype } from '../../engine/models/flux-sd/model.ts';

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
  // fp8 storage types only save memory in PyTorch: a FLUX model maps them to the 8-bit weight-only path
  // (MatMulNBits over a cached side file); SD UNets run at their file precision.
  run: ({ unet_name, weight_dtype }, ctx) => {
    const cacheDir = cacheDirOf(ctx.services);
    return [withWeightDtype(loadDiffusionModel(ctx.services.folders.resolveModel('diffusion_models', unet_name), { cacheDir }), weight_dtype, cacheDir)];
  },
});
