import path from 'node:path';
import { defineNode } from '../../engine/graph/node.ts';
import { loadLoraForModels } from '../../engine/models/lora/loader.ts';
import { cacheDirOf } from '../../engine/models/sd/services.ts';
import { asSdModel } from '../../engine/models/sd/model.ts';

export default defineNode({
  name: 'LoraLoaderModelOnly',
  category: 'loaders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      lora_name: { type: 'COMBO', options: { kind: 'models', folder: 'loras' } },
      strength_model: { type: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: ({ model, lora_name, strength_model }, ctx) => {
    if (strength_model === 0) return [model];
    // No CLIP: text-encoder keys are reported as not loaded, as in ComfyUI.
    const r = loadLoraForModels(asSdModel(model), null, ctx.services.folders.resolveModel('loras', lora_name), strength_model, 0, {
      cacheDir: path.join(cacheDirOf(ctx.services), 'lora'), warn: (m) => ctx.warn(m),
    });
    return [r.model!];
  },
});
