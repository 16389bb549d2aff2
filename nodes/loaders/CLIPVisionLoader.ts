import { defineNode } from '../../engine/graph/node.ts';

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
});
