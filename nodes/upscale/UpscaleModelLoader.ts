import { defineNode } from '../../engine/graph/node.ts';
import { UpscaleModel } from '../../engine/models/esrgan/index.ts';
import { cacheDirOf } from '../../engine/models/sd/services.ts';

/** Opens an ESRGAN-family upscaler (.safetensors, or .pth/.pt converted once into the model cache). */
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
  run({ model_name }, ctx) {
    const path = ctx.services.folders.resolveModel('upscale_models', model_name);
    return [UpscaleModel.open(path, { models: ctx.services.models, cacheDir: cacheDirOf(ctx.services) })];
  },
});
