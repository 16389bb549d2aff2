import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'TripleCLIPLoader',
  category: 'advanced/loaders',
  inputs: {
    required: {
      clip_name1: { type: 'COMBO', options: { kind: 'models', folder: 'text_encoders' } },
      clip_name2: { type: 'COMBO', options: { kind: 'models', folder: 'text_encoders' } },
      clip_name3: { type: 'COMBO', options: { kind: 'models', folder: 'text_encoders' } },
    },
  },
  outputs: [{ type: 'CLIP' }],
});
