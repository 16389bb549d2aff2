import { defineNode } from '../../engine/graph/node.ts';
import { repeatLatent } from '../../engine/tensor/latent.ts';

/** The batch tiled `amount` times (noise_mask and batch_index follow ComfyUI's rules). */
export default defineNode({
  name: 'RepeatLatentBatch',
  displayName: 'Repeat Latent Batch',
  category: 'latent/batch',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      amount: { type: 'INT', default: 1, min: 1, max: 64 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, amount }) {
    return [repeatLatent(samples, amount)];
  },
});
