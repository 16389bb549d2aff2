import { defineNode } from '../../engine/graph/node.ts';
import { compositeMasked } from '../../engine/tensor/imageops.ts';
import { checkLatent } from '../../engine/tensor/latent.ts';

/** Pastes source into destination at (x, y) pixels (÷8), blended by an optional mask resized to the source. */
export default defineNode({
  name: 'LatentCompositeMasked',
  category: 'latent',
  inputs: {
    required: {
      destination: { type: 'LATENT' },
      source: { type: 'LATENT' },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      resize_source: { type: 'BOOLEAN', default: false },
    },
    optional: {
      mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ destination, source, x, y, resize_source, mask }) {
    checkLatent(destination, 'destination');
    checkLatent(source, 'source');
    return [{ ...destination, samples: compositeMasked(destination.samples, source.samples, x, y, mask, 8, resize_source, 'NCHW') }];
  },
});
