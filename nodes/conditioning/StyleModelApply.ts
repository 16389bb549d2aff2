import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'StyleModelApply',
  displayName: 'Apply Style Model',
  category: 'conditioning/style_model',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      style_model: { type: 'STYLE_MODEL' },
      clip_vision_output: { type: 'CLIP_VISION_OUTPUT' },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.001 },
      strength_type: { type: 'COMBO', options: ['multiply', 'attn_bias'] },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
