import { defineNode } from '../../engine/graph/node.ts';
import { vaeList } from './vaeList.ts';
import { WeftError } from '../../engine/errors.ts';
import { cacheDirOf, loadVae } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'VAELoader',
  displayName: 'Load VAE',
  category: 'loaders',
  inputs: {
    required: {
      vae_name: { type: 'COMBO', options: { kind: 'custom', list: vaeList } },
    },
  },
  outputs: [{ type: 'VAE' }],
  run: ({ vae_name }, ctx) => {
    if (vae_name === 'pixel_space' || /^taes(d|dxl|d3)$|^taef1$/.test(vae_name)) {
      throw new WeftError(`vae_name: "${vae_name}" is not implemented yet; pick a VAE file`, { input: 'vae_name', type: 'not_implemented' });
    }
    return [loadVae(ctx.services.folders.resolveModel('vae', vae_name), { cacheDir: cacheDirOf(ctx.services) })];
  },
});
