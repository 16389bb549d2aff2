import { defineNode } from '../../engine/graph/node.ts';
import { applyFreeU } from '../../engine/models/freeu/index.ts';
import { asSdModel } from '../../engine/models/sd/model.ts';

/** FreeU_V2: like FreeU, but the backbone factor follows each image's normalised channel-mean map (1 + (b − 1)·m̂). */
export default defineNode({
  name: 'FreeU_V2',
  category: 'model_patches/unet',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      b1: { type: 'FLOAT', default: 1.3, min: 0.0, max: 10.0, step: 0.01 },
      b2: { type: 'FLOAT', default: 1.4, min: 0.0, max: 10.0, step: 0.01 },
      s1: { type: 'FLOAT', default: 0.9, min: 0.0, max: 10.0, step: 0.01 },
      s2: { type: 'FLOAT', default: 0.2, min: 0.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: ({ model, b1, b2, s1, s2 }) => [applyFreeU(asSdModel(model), 'v2', { b1, b2, s1, s2 })],
});
