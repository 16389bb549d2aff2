import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'LoraLoader',
  displayName: 'Load LoRA',
  category: 'loaders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      clip: { type: 'CLIP' },
      lora_name: { type: 'COMBO', options: { kind: 'models', folder: 'loras' } },
      strength_model: { type: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01 },
      strength_clip: { type: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }, { type: 'CLIP' }],
});
