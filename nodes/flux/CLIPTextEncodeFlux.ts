import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'CLIPTextEncodeFlux',
  category: 'advanced/conditioning/flux',
  inputs: {
    required: {
      clip: { type: 'CLIP' },
      clip_l: { type: 'STRING', multiline: true, dynamicPrompts: true },
      t5xxl: { type: 'STRING', multiline: true, dynamicPrompts: true },
      guidance: { type: 'FLOAT', default: 3.5, min: 0.0, max: 100.0, step: 0.1 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
