import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning, setConditioningValues } from '../../engine/tensor/conditioning.ts';

/** Sets the `guidance` option the FLUX dev model embeds through guidance_in (ComfyUI's key and meaning). */
export default defineNode({
  name: 'FluxGuidance',
  category: 'advanced/conditioning/flux',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      guidance: { type: 'FLOAT', default: 3.5, min: 0.0, max: 100.0, step: 0.1 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, guidance }) {
    return [setConditioningValues(checkConditioning(conditioning, 'conditioning'), { guidance })];
  },
});
