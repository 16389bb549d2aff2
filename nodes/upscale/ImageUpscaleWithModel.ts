import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ImageUpscaleWithModel',
  displayName: 'Upscale Image (using Model)',
  category: 'image/upscaling',
  inputs: {
    required: {
      upscale_model: { type: 'UPSCALE_MODEL' },
      image: { type: 'IMAGE' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
});
