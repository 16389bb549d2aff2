import { defineNode } from '../../engine/graph/node.ts';
import { loadControlNetModel } from '../../engine/models/controlnet/apply.ts';
import { asSdModel } from '../../engine/models/sd/model.ts';
import { cacheDirOf } from '../../engine/models/sd/services.ts';

export default defineNode({
  name: 'DiffControlNetLoader',
  displayName: 'Load ControlNet Model (diff)',
  category: 'loaders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      control_net_name: { type: 'COMBO', options: { kind: 'models', folder: 'controlnet' } },
    },
  },
  outputs: [{ type: 'CONTROL_NET' }],
  // A file with a `difference` tensor is merged onto this model's UNet weights; any other loads as is.
  run: ({ model, control_net_name }, ctx) => [
    loadControlNetModel(ctx.services.folders.resolveModel('controlnet', control_net_name), { cacheDir: cacheDirOf(ctx.services), model: asSdModel(model), warn: (m) => ctx.warn(m) }),
  ],
});
