import { defineNode } from '../../engine/graph/node.ts';
import { latentFromBatch } from '../../engine/tensor/latent.ts';

/** `length` items from `batch_index` (clamped); batch_index records which noise each item keeps. */
export default defineNode({
  name: 'LatentFromBatch',
  displayName: 'Latent From Batch',
  category: 'latent/batch',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      batch_index: { type: 'INT', default: 0, min: 0, max: 63 },
      length: { type: 'INT', default: 1, min: 1, max: 64 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, batch_index, length }) {
    return [latentFromBatch(samples, batch_index, length)];
  },
});
