import { defineNode } from '../../engine/graph/node.ts';
import { blendLatents, checkLatent } from '../../engine/tensor/latent.ts';

/** samples1·blend_factor + samples2·(1 − blend_factor); samples2 is resized (bicubic, centre crop) if its size differs. */
export default defineNode({
  name: 'LatentBlend',
  displayName: 'Latent Blend',
  category: '_for_testing',
  inputs: {
    required: {
      samples1: { type: 'LATENT' },
      samples2: { type: 'LATENT' },
      blend_factor: { type: 'FLOAT', default: 0.5, min: 0, max: 1, step: 0.01 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples1, samples2, blend_factor }) {
    checkLatent(samples1, 'samples1');
    checkLatent(samples2, 'samples2');
    return [{ ...samples1, samples: blendLatents(samples1.samples, samples2.samples, blend_factor) }];
  },
});
