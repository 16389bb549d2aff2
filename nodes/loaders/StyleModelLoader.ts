import { defineNode } from '../../engine/graph/node.ts';
import { safetensorsPathFor } from '../../engine/io/model-file.ts';
import { StyleModel } from '../../engine/models/style/index.ts';
import { cacheDirOf } from '../../engine/models/sd/index.ts';

/** A T2I style adapter (coadapter-style, usually .pth) or FLUX Redux file from models/style_models. */
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
  run: ({ style_model_name }, ctx) => {
    const path = safetensorsPathFor(ctx.services.folders.resolveModel('style_models', style_model_name), cacheDirOf(ctx.services));
    return [StyleModel.open(path, { models: ctx.services.models })];
  },
});
