import { defineNode } from '../../engine/graph/node.ts';
import { checkLatent, rot90NCHW } from '../../engine/tensor/latent.ts';

const TURNS: Record<string, number> = { none: 0, '90 degrees': 1, '180 degrees': 2, '270 degrees': 3 };

/** Clockwise quarter turns. */
export default defineNode({
  name: 'LatentRotate',
  displayName: 'Rotate Latent',
  category: 'latent/transform',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      rotation: { type: 'COMBO', options: ['none', '90 degrees', '180 degrees', '270 degrees'] },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, rotation }) {
    checkLatent(samples);
    return [{ ...samples, samples: rot90NCHW(samples.samples, TURNS[rotation] ?? 0) }];
  },
});
