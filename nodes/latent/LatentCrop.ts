import { defineNode } from '../../engine/graph/node.ts';
import { checkLatent, cropLatent } from '../../engine/tensor/latent.ts';

/** Crops width × height pixels at (x, y), all ÷8; the noise mask is kept as it is (as ComfyUI does). */
export default defineNode({
  name: 'LatentCrop',
  displayName: 'Crop Latent',
  category: 'latent/transform',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      width: { type: 'INT', default: 512, min: 64, max: 16384, step: 8 },
      height: { type: 'INT', default: 512, min: 64, max: 16384, step: 8 },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, width, height, x, y }) {
    checkLatent(samples);
    return [{ ...samples, samples: cropLatent(samples.samples, width, height, x, y) }];
  },
});
