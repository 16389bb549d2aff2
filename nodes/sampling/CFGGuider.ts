import { defineNode } from '../../engine/graph/node.ts';
import { asSdModel } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'CFGGuider',
  displayName: 'CFG Guider',
  category: 'sampling/guiders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      positive: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      cfg: { type: 'FLOAT', default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 },
    },
  },
  outputs: [{ type: 'GUIDER' }],
  run: ({ model, positive, negative, cfg }) => [{ kind: 'cfg', model: asSdModel(model), positive, negative, cfg }],
});
