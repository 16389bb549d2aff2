import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'unCLIPCheckpointLoader',
  category: 'loaders',
  inputs: {
    required: {
      ckpt_name: { type: 'COMBO', options: { kind: 'models', folder: 'checkpoints' } },
    },
  },
  outputs: [{ type: 'MODEL' }, { type: 'CLIP' }, { type: 'VAE' }, { type: 'CLIP_VISION' }],
});
