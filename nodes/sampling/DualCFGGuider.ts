import { defineNode } from '../../engine/graph/node.ts';
import { WeftError } from '../../engine/errors.ts';
import { asSdModel } from '../../engine/models/sd/index.ts';

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
  run: ({ model, cond1, cond2, negative, cfg_conds, cfg_cond2_negative, style }) => {
    if (style !== 'regular') throw new WeftError(`style: "${style}" is not implemented yet; use "regular"`, { input: 'style', type: 'not_implemented' });
    return [{ kind: 'dual', model: asSdModel(model), positive: cond1, middle: cond2, negative, cfg: cfg_conds, cfg2: cfg_cond2_negative }];
  },
});
