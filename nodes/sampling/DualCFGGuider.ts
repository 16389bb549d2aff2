import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'DualCFGGuider',
  displayName: 'Dual CFG Guider',
  category: 'sampling/guiders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      cond1: { type: 'CONDITIONING' },
      cond2: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      cfg_conds: { type: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
      cfg_cond2_negative: { type: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
      style: { type: 'COMBO', options: ['regular', 'nested'] },
    },
  },
  outputs: [{ type: 'GUIDER' }],
});
