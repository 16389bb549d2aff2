import { defineNode } from '../../engine/graph/node.ts';
import { IMAGE_UPSCALE_METHODS, pyRound, upscaleImage, type UpscaleMethod } from '../../engine/tensor/upscale.ts';

/** Resizes by a factor, each side rounded like Python's round() (ComfyUI's ImageScaleBy). */
export const ImageScaleBy = defineNode({
  name: 'ImageScaleBy',
  displayName: 'Upscale Image By',
  category: 'image/upscaling',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      upscale_method: { type: 'COMBO', options: IMAGE_UPSCALE_METHODS },
      scale_by: { type: 'FLOAT', default: 1.0, min: 0.01, max: 8.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, upscale_method, scale_by }) {
    const [, h, w] = image.shape;
    const width = pyRound(w * scale_by);
    const height = pyRound(h * scale_by);
    return [upscaleImage(image, width, height, upscale_method as UpscaleMethod, 'disabled')];
  },
});
