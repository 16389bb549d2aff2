import { defineNode } from '../../engine/graph/node.ts';
import { cacheDirOf, loadCheckpoint } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'CheckpointLoaderSimple',
  displayName: 'Load Checkpoint',
  category: 'loaders',
  inputs: {
    required: {
      ckpt_name: { type: 'COMBO', options: { kind: 'models', folder: 'checkpoints' } },
    },
  },
  outputs: [{ type: 'MODEL' }, { type: 'CLIP' }, { type: 'VAE' }],
  run: ({ ckpt_name }, ctx) => {
    const { folders } = ctx.services;
    const c = loadCheckpoint(folders.resolveModel('checkpoints', ckpt_name), { cacheDir: cacheDirOf(ctx.services), folders });
    return [c.model, c.clip, c.vae];
  },
});
