import { defineNode } from '../../engine/graph/node.ts';
import { ClipVisionModel } from '../../engine/models/clip-vision/index.ts';

export default defineNode({
  name: 'CLIPVisionLoader',
  displayName: 'Load CLIP Vision',
  category: 'loaders',
  inputs: {
    required: {
      clip_name: { type: 'COMBO', options: { kind: 'models', folder: 'clip_vision' } },
    },
  },
  outputs: [{ type: 'CLIP_VISION' }],
  run: ({ clip_name }, ctx) => [ClipVisionModel.open(ctx.services.folders.resolveModel('clip_vision', clip_name), { models: ctx.services.models })],
});
