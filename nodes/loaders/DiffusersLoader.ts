import { defineNode } from '../../engine/graph/node.ts';
import type { ClipModel } from '../../engine/models/clip/model.ts';
import { listDiffusersFolders, loadDiffusersFolder, resolveDiffusersFolder } from '../../engine/models/diffusers/index.ts';
import { cacheDirOf, type SdVae } from '../../engine/models/sd/index.ts';

/** ComfyUI's DiffusersLoader: a diffusers pipeline folder, read in place (no conversion, no copy). */
export default defineNode({
  name: 'DiffusersLoader',
  displayName: 'DiffusersLoader',
  category: 'advanced/loaders/deprecated',
  inputs: {
    required: {
      model_path: { type: 'COMBO', options: { kind: 'custom', list: (env) => listDiffusersFolders(env.listModels('diffusers')) } },
    },
  },
  outputs: [{ type: 'MODEL' }, { type: 'CLIP' }, { type: 'VAE' }],
  run: ({ model_path }, ctx) => {
    const { folders } = ctx.services;
    const dir = resolveDiffusersFolder((f, n) => folders.resolveModel(f, n), model_path);
    const r = loadDiffusersFolder(dir, { cacheDir: cacheDirOf(ctx.services), folders, warn: (m) => ctx.warn(m) });
    // clip / vae are null when the folder has none (ComfyUI's None); their consumers say so by input name.
    return [r.model, r.clip as ClipModel, r.vae as SdVae];
  },
});
