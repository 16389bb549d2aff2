import { defineNode } from '../../engine/graph/node.ts';
import { vaeList } from './vaeList.ts';

export default defineNode({
  name: 'VAELoader',
  displayName: 'Load VAE',
  category: 'loaders',
  inputs: {
    required: {
      vae_name: { type: 'COMBO', options: { kind: 'custom', list: vaeList } },
    },
  },
  outputs: [{ type: 'VAE' }],
});
