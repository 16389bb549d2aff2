import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ConditioningSetArea',
  displayName: 'Conditioning (Set Area)',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      width: { type: 'INT', default: 64, min: 64, max: 16384, step: 8 },
      height: { type: 'INT', default: 64, min: 64, max: 16384, step: 8 },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
