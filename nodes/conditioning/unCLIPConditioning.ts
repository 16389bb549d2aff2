import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning } from '../../engine/tensor/conditioning.ts';

/**
 * Appends {clip_vision_output, strength, noise_augmentation} to each entry's `unclip_conditioning` list; the
 * model turns the list into its ADM vector at sampling time (engine/models/unclip). Strength 0 is a no-op.
 */
export default defineNode({
  name: 'unCLIPConditioning',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      clip_vision_output: { type: 'CLIP_VISION_OUTPUT' },
      strength: { type: 'FLOAT', default: 1.0, min: -10.0, max: 10.0, step: 0.01 },
      noise_augmentation: { type: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, clip_vision_output, strength, noise_augmentation }) {
    const c = checkConditioning(conditioning, 'conditioning');
    if (strength === 0) return [c];
    const entry = { clip_vision_output, strength, noise_augmentation };
    return [c.map(([t, o]) => [t, { ...o, unclip_conditioning: [...(Array.isArray(o.unclip_conditioning) ? o.unclip_conditioning : []), entry] }])];
  },
});
