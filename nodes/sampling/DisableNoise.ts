import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'DisableNoise',
  category: 'sampling/noise',
  inputs: {
  },
  outputs: [{ type: 'NOISE' }],
  run: () => [{ kind: 'disabled' }],
});
