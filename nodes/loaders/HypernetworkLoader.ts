import path from 'node:path';
import { defineNode } from '../../engine/graph/node.ts';
import { applyHypernetwork, readHypernetwork } from '../../engine/models/hypernetwork/index.ts';
import { asSdModel } from '../../engine/models/sd/model.ts';
import { cacheDirOf } from '../../engine/models/sd/services.ts';

export default defineNode({
  name: 'HypernetworkLoader',
  category: 'loaders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      hypernetwork_name: { type: 'COMBO', options: { kind: 'models', folder: 'hypernetworks' } },
      strength: { type: 'FLOAT', default: 1.0, min: -10.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: ({ model, hypernetwork_name, strength }, ctx) => {
    // The file is read and checked even at strength 0, as ComfyUI loads it whatever the strength.
    const hn = readHypernetwork(ctx.services.folders.resolveModel('hypernetworks', hypernetwork_name));
    return [applyHypernetwork(asSdModel(model), hn, strength, { cacheDir: path.join(cacheDirOf(ctx.services), 'hypernetwork'), warn: (m) => ctx.warn(m) })];
  },
});
