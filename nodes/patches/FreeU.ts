import { defineNode } from '../../engine/graph/node.ts';
import { applyFreeU } from '../../engine/models/freeu/index.ts';
import { asSdModel } from '../../engine/models/sd/model.ts';

/** Scales the backbone half of h at the two deepest output levels by b1/b2 and damps the skips' lowest frequencies by s1/s2 (ComfyUI's FreeU). */
export default defineNode({
  name: 'FreeU',
  category: 'model_patches/unet',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      b1: { type: 'FLOAT', default: 1.1, min: 0.0, max: 10.0, step: 0.01 },
      b2: { type: 'FLOAT', default: 1.2, min: 0.0, max: 10.0, step: 0.01 },
      s1: { type: 'FLOAT', default: 0.9, min: 0.0, max: 10.0, step: 0.01 },
      s2: { type: 'FLOAT', default: 0.2, min: 0.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: ({ model, b1, b2, s1, s2 }) => [applyFreeU(asSdModel(model), 'v1', { b1, b2, s1, s2 })],
});
