/**
 * flux_vae_decode: the 16-channel FLUX AE decodes `latent` and the sampler's final `trajectory_samples`
 * (both already in the AE's own space: VAEDecode applies no scale/shift) and encodes `image_nhwc`.
 */
import type { CaseHandler } from '../types.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { openFluxAe } from '../../models/flux-vae/index.ts';
import type { Vae } from '../../models/vae/vae.ts';
import { caseTensor } from '../inputs.ts';

const aes = new Map<string, Vae>();

function aeFor(path: string): Vae {
  let v = aes.get(path);
  if (!v) {
    v = openFluxAe(SafetensorsFile.open(path), { threads: 1 });
    aes.set(path, v);
  }
  return v;
}

export const handler: CaseHandler = {
  topic: 'flux_vae',
  match: (c) => c.name.startsWith('flux_vae_'),
  async run(c, ctx) {
    const m = await ctx.tensors();
    const ae = aeFor(ctx.model('vae'));
    const got: Record<string, Float32Array> = {};
    const d = await ae.decode(caseTensor(m, c, 'latent'));
    got.decoded_raw = d.decoded.data;
    got.image_nhwc = d.image.data;
    if (c.inputs.trajectory_samples) got.trajectory_image_nhwc = (await ae.decode(caseTensor(m, c, 'trajectory_samples'))).image.data;
    if (c.inputs.image_nhwc) {
      const e = await ae.encode(caseTensor(m, c, 'image_nhwc'));
      got.encode_mean = e.mean.data;
      got.encode_logvar = e.logvar.data;
    }
    return { got };
  },
};
