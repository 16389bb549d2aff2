import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning, setConditioningValues } from '../../engine/tensor/conditioning.ts';

/** guidance = null: a dev model then runs without its guidance_in embedding (ComfyUI's guidance None). */
export default defineNode({
  name: 'FluxDisableGuidance',
  category: 'advanced/conditioning/flux',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run: ({ conditioning }) => [setConditioningValues(checkConditioning(conditioning, 'conditioning'), { guidance: null })],
});
