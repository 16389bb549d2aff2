import { defineNode } from '../../engine/graph/node.ts';
import { emptyLatent } from '../../engine/tensor/latent.ts';

/** Zeros [batch_size, 4, height/8, width/8]; the sampler widens an all-zero latent for 16-channel models. */
export default defineNode({
  name: 'EmptyLatentImage',
  displayName: 'Empty Latent Image',
  category: 'latent',
  inputs: {
    required: {
      width: { type: 'INT', default: 512, min: 16, max: 16384, step: 8 },
      height: { type: 'INT', default: 512, min: 16, max: 16384, step: 8 },
      batch_size: { type: 'INT', default: 1, min: 1, max: 4096 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ width, height, batch_size }) {
    return [emptyLatent(width, height, batch_size, 4)];
  },
});
