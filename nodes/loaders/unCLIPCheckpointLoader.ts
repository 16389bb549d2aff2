import { defineNode } from '../../engine/graph/node.ts';
import type { ClipModel } from '../../engine/models/clip/model.ts';
import type { ClipVisionModel } from '../../engine/models/clip-vision/index.ts';
import { cacheDirOf, type SdVae } from '../../engine/models/sd/index.ts';
import { loadUnclipCheckpoint } from '../../engine/models/unclip/index.ts';

/** An SD2.1 unCLIP checkpoint: MODEL (with its noise augmentor), CLIP, VAE and the CLIP vision tower inside it. */
export default defineNode({
  name: 'unCLIPCheckpointLoader',
  category: 'loaders',
  inputs: {
    required: {
      ckpt_name: { type: 'COMBO', options: { kind: 'models', folder: 'checkpoints' } },
    },
  },
  outputs: [{ type: 'MODEL' }, { type: 'CLIP' }, { type: 'VAE' }, { type: 'CLIP_VISION' }],
  run: ({ ckpt_name }, ctx) => {
    const { folders, models } = ctx.services;
    const c = loadUnclipCheckpoint(folders.resolveModel('checkpoints', ckpt_name), { cacheDir: cacheDirOf(ctx.services), folders, models });
    // Missing parts are null (ComfyUI's None); their consumers say so by input name.
    return [c.model, c.clip as ClipModel, c.vae as SdVae, c.clipVision as ClipVisionModel];
  },
});
