import { defineNode } from '../../engine/graph/node.ts';
import { loadControlNetModel } from '../../engine/models/controlnet/apply.ts';
import { cacheDirOf } from '../../engine/models/sd/services.ts';

export default defineNode({
  name: 'ControlNetLoader',
  displayName: 'Load ControlNet Model',
  category: 'loaders',
  inputs: {
    required: {
      control_net_name: { type: 'COMBO', options: { kind: 'models', folder: 'controlnet' } },
    },
  },
  outputs: [{ type: 'CONTROL_NET' }],
  run: ({ control_net_name }, ctx) => [
    loadControlNetModel(ctx.services.folders.resolveModel('controlnet', control_net_name), { cacheDir: cacheDirOf(ctx.services), warn: (m) => ctx.warn(m) }),
  ],
});
