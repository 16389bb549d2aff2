import { defineNode } from '../../engine/graph/node.ts';
import { checkLatent, flipNCHW } from '../../engine/tensor/latent.ts';

/** 'x-axis' flips rows (upside down), 'y-axis' flips columns (mirror). */
export default defineNode({
  name: 'LatentFlip',
  displayName: 'Flip Latent',
  category: 'latent/transform',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      flip_method: { type: 'COMBO', options: ['x-axis: vertically', 'y-axis: horizontally'] },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, flip_method }) {
    checkLatent(samples);
    if (flip_method.startsWith('x')) return [{ ...samples, samples: flipNCHW(samples.samples, 'h') }];
    if (flip_method.startsWith('y')) return [{ ...samples, samples: flipNCHW(samples.samples, 'w') }];
    return [samples];
  },
});
