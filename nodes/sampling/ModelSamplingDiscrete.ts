import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ModelSamplingDiscrete',
  category: 'advanced/model',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      sampling: { type: 'COMBO', options: ['eps', 'v_prediction', 'lcm', 'x0', 'img_to_img'] },
      zsnr: { type: 'BOOLEAN', default: false },
    },
  },
  outputs: [{ type: 'MODEL' }],
});
