import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'LoraLoaderModelOnly',
  category: 'loaders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      lora_name: { type: 'COMBO', options: { kind: 'models', folder: 'loras' } },
      strength_model: { type: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
});
