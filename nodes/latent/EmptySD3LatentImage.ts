import { defineNode } from '../../engine/graph/node.ts';
import { emptyLatent } from '../../engine/tensor/latent.ts';

/** Zeros [batch_size, 16, height/8, width/8] (SD3 / FLUX latents; ComfyUI fills with zeros too). */
export default defineNode({
  name: 'EmptySD3LatentImage',
  category: 'latent/sd3',
  inputs: {
    required: {
      width: { type: 'INT', default: 1024, min: 16, max: 16384, step: 16 },
      height: { type: 'INT', default: 1024, min: 16, max: 16384, step: 16 },
      batch_size: { type: 'INT', default: 1, min: 1, max: 4096 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ width, height, batch_size }) {
    return [emptyLatent(width, height, batch_size, 16)];
  },
});
