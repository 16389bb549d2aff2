import path from 'node:path';
import { defineNode } from '../../engine/graph/node.ts';
import { safetensorsPathFor } from '../../engine/io/model-file.ts';
import { GligenModel } from '../../engine/models/gligen/index.ts';
import { cacheDirOf } from '../../engine/models/sd/services.ts';

export default defineNode({
  name: 'GLIGENLoader',
  category: 'loaders',
  inputs: {
    required: {
      gligen_name: { type: 'COMBO', options: { kind: 'models', folder: 'gligen' } },
    },
  },
  outputs: [{ type: 'GLIGEN' }],
  // Header only: the fuser and PositionNet weights are mapped by ORT when a sampler first needs them.
  run: ({ gligen_name }, ctx) => [GligenModel.open(safetensorsPathFor(ctx.services.folders.resolveModel('gligen', gligen_name), path.join(cacheDirOf(ctx.services), 'gligen')))],
});
