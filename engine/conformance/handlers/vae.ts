/**
 * VAE cases: decode (vae_decode*, sdxl_vae_decode, sd2v_vae_decode) and encode (vae_encode, sdxl_vae_encode).
 * One Vae per checkpoint for the whole run.
 */
import type { CaseHandler } from '../types.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { Vae, samplePosterior } from '../../models/vae/vae.ts';
import { randn } from '../../sampling/rng.ts';
import { caseTensor } from '../inputs.ts';

const vaes = new Map<string, Vae>();

function vaeFor(path: string): Vae {
  let v = vaes.get(path);
  if (!v) {
    v = Vae.open(SafetensorsFile.open(path), undefined, { threads: 1 });
    vaes.set(path, v);
  }
  return v;
}

const DECODE = /^(vae_decode|sdxl_vae_decode|sd2v_vae_decode)/;
const ENCODE = /^(vae_encode|sdxl_vae_encode)/;

export const handler: CaseHandler = {
  topic: 'vae',
  match: (c) => DECODE.test(c.name) || ENCODE.test(c.name),
  async run(c, ctx) {
    const m = await ctx.tensors();
    const vae = vaeFor(ctx.model('checkpoint'));
    const got: Record<string, Float32Array> = {};
    if (DECODE.test(c.name)) {
      const r = await vae.decode(caseTensor(m, c, 'latent'));
      got.decoded_raw = r.decoded.data;
      got.image_nhwc = r.image.data;
      if (c.inputs.trajectory_samples) got.trajectory_image_nhwc = (await vae.decode(caseTensor(m, c, 'trajectory_samples'))).image.data;
      return { got };
    }
    const r = await vae.encode(caseTensor(m, c, 'image_nhwc'));
    got.mean = r.mean.data;
    got.logvar = r.logvar.data;
    if (c.expected.comfy_vaeencode_sample) {
      const seed = c.params.global_seed_before_encode as number;
      got.comfy_vaeencode_sample = samplePosterior(r.mean, r.logvar, randn(seed, r.mean.shape)).data;
    }
    return { got };
  },
};
