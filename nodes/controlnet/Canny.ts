import { defineNode } from '../../engine/graph/node.ts';
import { cannyImage } from '../../engine/tensor/canny.ts';

/** ComfyUI's Canny (comfy_extras/nodes_canny.py): kornia's canny on each image, edges as RGB 0/1. */
export default defineNode({
  name: 'Canny',
  category: 'image/preprocessors',
  description:
    'Canny edge map for canny ControlNets: white 1-pixel edges on black, computed as ComfyUI does ' +
    '(grey, 5×5 gaussian blur, Sobel, non-maximum suppression, hysteresis between the two thresholds). ' +
    'Depth, normal and pose maps you already have as images need no preprocessor: wire them straight into Apply ControlNet.',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      low_threshold: { type: 'FLOAT', default: 0.4, min: 0.01, max: 0.99, step: 0.01 },
      high_threshold: { type: 'FLOAT', default: 0.8, min: 0.01, max: 0.99, step: 0.01 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, low_threshold, high_threshold }) {
    return [cannyImage(image, low_threshold, high_threshold)];
  },
});
