import { defineNode } from '../../engine/graph/node.ts';
import { withFluxShift } from '../../engine/models/flux-sd/model.ts';
import { asSdModel } from '../../engine/models/sd/model.ts';

/** A copy of the model whose flow sampling uses the shift for width×height (see fluxShift). */
export default defineNode({
  name: 'ModelSamplingFlux',
  category: 'advanced/model',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      max_shift: { type: 'FLOAT', default: 1.15, min: 0.0, max: 100.0, step: 0.01 },
      base_shift: { type: 'FLOAT', default: 0.5, min: 0.0, max: 100.0, step: 0.01 },
      width: { type: 'INT', default: 1024, min: 16, max: 16384, step: 8 },
      height: { type: 'INT', default: 1024, min: 16, max: 16384, step: 8 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: ({ model, max_shift, base_shift, width, height }) => [withFluxShift(asSdModel(model), max_shift, base_shift, width, height)],
});
