import { defineNode } from '../../engine/graph/node.ts';
import { cacheDirOf, loadCheckpoint } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'CheckpointLoader',
  displayName: 'Load Checkpoint With Config (DEPRECATED)',
  category: 'advanced/loaders',
  inputs: {
    required: {
      config_name: { type: 'COMBO', options: { kind: 'models', folder: 'configs' } },
      ckpt_name: { type: 'COMBO', options: { kind: 'models', folder: 'checkpoints' } },
    },
  },
  outputs: [{ type: 'MODEL' }, { type: 'CLIP' }, { type: 'VAE' }],
  deprecated: true,
  // The config file is ignored: the architecture is read from the weights, as ComfyUI's guessed-config loader does.
  run: ({ ckpt_name }, ctx) => {
    const { folders } = ctx.services;
    const c = loadCheckpoint(folders.resolveModel('checkpoints', ckpt_name), { cacheDir: cacheDirOf(ctx.services), folders });
    return [c.model, c.clip, c.vae];
  },
});
