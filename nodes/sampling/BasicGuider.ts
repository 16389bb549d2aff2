import { defineNode } from '../../engine/graph/node.ts';
import type { Conditioning } from '../../engine/graph/sockets.ts';
import { asSdModel } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'BasicGuider',
  displayName: 'Basic Guider',
  category: 'sampling/guiders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      conditioning: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'GUIDER' }],
  run: ({ model, conditioning }) => [{ kind: 'basic', model: asSdModel(model), positive: conditioning, negative: [] as Conditioning, cfg: 1 }],
});
