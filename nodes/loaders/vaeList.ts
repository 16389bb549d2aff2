import type { ComboEnv } from '../../engine/graph/node.ts';

/**
 * VAELoader's choices: files in models/vae, then each tiny autoencoder whose encoder and decoder are
 * both in models/vae_approx (as ComfyUI lists them), then the pixel-space pass-through.
 */
export function vaeList(env: ComboEnv): string[] {
  const approx = env.listModels('vae_approx');
  const has = (prefix: string) => approx.some((f) => f.startsWith(prefix));
  const tiny = ['taesd', 'taesdxl', 'taesd3', 'taef1'].filter((n) => has(`${n}_encoder.`) && has(`${n}_decoder.`));
  return [...env.listModels('vae'), ...tiny, 'pixel_space'];
}
