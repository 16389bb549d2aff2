import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'unCLIPConditioning',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      clip_vision_output: { type: 'CLIP_VISION_OUTPUT' },
      strength: { type: 'FLOAT', default: 1.0, min: -10.0, max: 10.0, step: 0.01 },
      noise_augmentation: { type: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
