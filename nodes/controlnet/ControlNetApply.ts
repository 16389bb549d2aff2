import { defineNode } from '../../engine/graph/node.ts';
import { applyControlNet, asControlNet } from '../../engine/models/controlnet/socket.ts';

export default defineNode({
  name: 'ControlNetApply',
  displayName: 'Apply ControlNet (OLD)',
  category: 'conditioning/controlnet',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      control_net: { type: 'CONTROL_NET' },
      image: { type: 'IMAGE' },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  // Positive only, but flagged so the sampler also hands it to an uncontrolled uncond (ComfyUI's control_apply_to_uncond).
  run: ({ conditioning, control_net, image, strength }) => [
    applyControlNet([conditioning], asControlNet(control_net), image, { strength, applyToUncond: true })[0]!,
  ],
  deprecated: true,
});
