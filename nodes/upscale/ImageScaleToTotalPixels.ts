import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ImageScaleToTotalPixels',
  category: 'image/upscaling',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      upscale_method: { type: 'COMBO', options: ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'] },
      megapixels: { type: 'FLOAT', default: 1.0, min: 0.01, max: 16.0, step: 0.01 },
      resolution_steps: { type: 'INT', default: 1, min: 1, max: 256 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
});
