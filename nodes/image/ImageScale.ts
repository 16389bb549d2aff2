import { defineNode } from '../../engine/graph/node.ts';
import { CROP_METHODS, IMAGE_UPSCALE_METHODS, pyRound, upscaleImage, type CropMethod, type UpscaleMethod } from '../../engine/tensor/upscale.ts';

const MAX_RESOLUTION = 16384;

/** Resizes to width × height; a 0 side keeps the aspect ratio, both 0 pass through (ComfyUI's ImageScale). */
export const ImageScale = defineNode({
  name: 'ImageScale',
  displayName: 'Upscale Image',
  category: 'image/upscaling',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      upscale_method: { type: 'COMBO', options: IMAGE_UPSCALE_METHODS },
      width: { type: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 1 },
      height: { type: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 1 },
      crop: { type: 'COMBO', options: CROP_METHODS },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, upscale_method, width, height, crop }) {
    if (width === 0 && height === 0) return [image];
    const [, h, w] = image.shape;
    if (width === 0) width = Math.max(1, pyRound((w * height) / h));
    else if (height === 0) height = Math.max(1, pyRound((h * width) / w));
    return [upscaleImage(image, width, height, upscale_method as UpscaleMethod, crop as CropMethod)];
  },
});
