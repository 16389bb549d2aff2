import { defineNode } from '../../engine/graph/node.ts';
import { applyControlNet, asControlNet } from '../../engine/models/controlnet/socket.ts';

export default defineNode({
  name: 'ControlNetApplyAdvanced',
  displayName: 'Apply ControlNet',
  category: 'conditioning/controlnet',
  inputs: {
    required: {
      positive: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      control_net: { type: 'CONTROL_NET' },
      image: { type: 'IMAGE' },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 },
      start_percent: { type: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.001 },
      end_percent: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.001 },
    },
    optional: {
      vae: { type: 'VAE' },
    },
  },
  outputs: [{ type: 'CONDITIONING', name: 'positive' }, { type: 'CONDITIONING', name: 'negative' }],
  // `vae` only matters to latent-space ControlNets (SD3/FLUX); the LDM ones loaded here take pixels.
  run: ({ positive, negative, control_net, image, strength, start_percent, end_percent }) => {
    const [p, n] = applyControlNet([positive, negative], asControlNet(control_net), image, {
      strength, startPercent: start_percent, endPercent: end_percent, applyToUncond: false,
    });
    return [p!, n!];
  },
});
