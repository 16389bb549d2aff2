import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'RandomNoise',
  category: 'sampling/noise',
  inputs: {
    required: {
      noise_seed: { type: 'INT', default: 0, min: 0, max: 18446744073709551615n, big: true, control_after_generate: true },
    },
  },
  outputs: [{ type: 'NOISE' }],
  run: ({ noise_seed }) => [{ kind: 'random', seed: noise_seed }],
});
