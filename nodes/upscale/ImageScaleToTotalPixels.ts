import { WeftError } from '../../engine/errors.ts';
import { defineNode } from '../../engine/graph/node.ts';
import { IMAGE_UPSCALE_METHODS, pyRound, upscaleImage, type UpscaleMethod } from '../../engine/tensor/upscale.ts';

/**
 * ComfyUI's target size: scale = sqrt(megapixels·1024² / (w·h)), each side round(side·scale / steps)·steps with
 * Python's round (halves to even). Megapixels here are binary (2^20 pixels), as in ComfyUI.
 */
export function totalPixelsSize(w: number, h: number, megapixels: number, steps: number): { width: number; height: number } {
  const scale = Math.sqrt((megapixels * 1024 * 1024) / (w * h));
  const width = pyRound((w * scale) / steps) * steps;
  const height = pyRound((h * scale) / steps) * steps;
  if (width < 1 || height < 1) {
    throw new WeftError(`ImageScaleToTotalPixels: ${megapixels} megapixels in steps of ${resolutionHint(steps)} gives a ${width}×${height} image; raise megapixels or lower resolution_steps`, { input: 'resolution_steps' });
  }
  return { width, height };
}

const resolutionHint = (steps: number): string => `${steps} pixel${steps === 1 ? '' : 's'}`;

/** Resizes to about `megapixels` × 2^20 pixels, aspect kept, sides multiples of resolution_steps. */
export default defineNode({
  name: 'ImageScaleToTotalPixels',
  category: 'image/upscaling',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      upscale_method: { type: 'COMBO', options: IMAGE_UPSCALE_METHODS },
      megapixels: { type: 'FLOAT', default: 1.0, min: 0.01, max: 16.0, step: 0.01 },
      resolution_steps: { type: 'INT', default: 1, min: 1, max: 256 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, upscale_method, megapixels, resolution_steps }) {
    const [, h, w] = image.shape;
    const { width, height } = totalPixelsSize(w!, h!, megapixels, resolution_steps);
    return [upscaleImage(image, width, height, upscale_method as UpscaleMethod, 'disabled')];
  },
});
