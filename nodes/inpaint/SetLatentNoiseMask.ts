import { defineNode } from '../../engine/graph/node.ts';
import { checkLatent } from '../../engine/tensor/latent.ts';
import { noiseMaskFromMask } from '../../engine/tensor/mask.ts';

/** Attaches the mask as the latent's noise_mask, stored as [B,1,H,W] (the sampler resizes it). */
export default defineNode({
  name: 'SetLatentNoiseMask',
  displayName: 'Set Latent Noise Mask',
  category: 'latent/inpaint',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, mask }) {
    checkLatent(samples);
    return [{ ...samples, noise_mask: noiseMaskFromMask(mask) }];
  },
});
