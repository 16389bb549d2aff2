import { defineNode } from '../../engine/graph/node.ts';
import { checkLatent, compositeLatent } from '../../engine/tensor/latent.ts';

/** Pastes samples_from into samples_to at (x, y) pixels (÷8), optionally feathering the inner edges. */
export default defineNode({
  name: 'LatentComposite',
  displayName: 'Latent Composite',
  category: 'latent',
  inputs: {
    required: {
      samples_to: { type: 'LATENT' },
      samples_from: { type: 'LATENT' },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      feather: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples_to, samples_from, x, y, feather }) {
    checkLatent(samples_to, 'samples_to');
    checkLatent(samples_from, 'samples_from');
    return [{ ...samples_to, samples: compositeLatent(samples_to.samples, samples_from.samples, x, y, feather) }];
  },
});
