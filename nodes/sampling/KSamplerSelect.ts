import { defineNode } from '../../engine/graph/node.ts';
import { SAMPLER_NAMES } from '../../engine/sampling/names.ts';

export default defineNode({
  name: 'KSamplerSelect',
  category: 'sampling/samplers',
  inputs: {
    required: {
      sampler_name: { type: 'COMBO', options: { kind: 'custom', list: () => [...SAMPLER_NAMES] } },
    },
  },
  outputs: [{ type: 'SAMPLER' }],
  run: ({ sampler_name }) => [{ name: sampler_name }],
});
