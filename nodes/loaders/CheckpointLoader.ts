import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'CheckpointLoader',
  displayName: 'Load Checkpoint With Config (DEPRECATED)',
  category: 'advanced/loaders',
  inputs: {
    required: {
      config_name: { type: 'COMBO', options: { kind: 'models', folder: 'configs' } },
      ckpt_name: { type: 'COMBO', options: { kind: 'models', folder: 'checkpoints' } },
    },
  },
  outputs: [{ type: 'MODEL' }, { type: 'CLIP' }, { type: 'VAE' }],
  deprecated: true,
});
