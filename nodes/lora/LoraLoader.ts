import path from 'node:path';
import { defineNode } from '../../engine/graph/node.ts';
import { loadLoraForModels } from '../../engine/models/lora/loader.ts';
import { cacheDirOf } from '../../engine/models/sd/services.ts';
import { asSdModel } from '../../engine/models/sd/model.ts';
import { asClipModel } from '../../engine/models/clip/model.ts';

export default defineNode({
  name: 'LoraLoader',
  displayName: 'Load LoRA',
  category: 'loaders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      clip: { type: 'CLIP' },
      lora_name: { type: 'COMBO', options: { kind: 'models', folder: 'loras' } },
      strength_model: { type: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01 },
      strength_clip: { type: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }, { type: 'CLIP' }],
  run: ({ model, clip, lora_name, strength_model, strength_clip }, ctx) => {
    // ComfyUI returns its inputs untouched when both strengths are 0 (and reads no file).
    if (strength_model === 0 && strength_clip === 0) return [model, clip];
    const r = loadLoraForModels(asSdModel(model), asClipModel(clip), ctx.services.folders.resolveModel('loras', lora_name), strength_model, strength_clip, {
      cacheDir: path.join(cacheDirOf(ctx.services), 'lora'), warn: (m) => ctx.warn(m),
    });
    return [r.model!, r.clip!];
  },
});
