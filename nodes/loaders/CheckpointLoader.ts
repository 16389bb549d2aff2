import { defineNode } from '../../engine/graph/node.ts';
import type { ClipModel } from '../../engine/models/clip/model.ts';
import { cacheDirOf, loadCheckpoint, type SdVae } from '../../engine/models/sd/index.ts';

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
    // clip / vae are null when the file has none (ComfyUI's None); their consumers say so by input name.
    return [c.model, c.clip as ClipModel, c.vae as SdVae];
  },
});
