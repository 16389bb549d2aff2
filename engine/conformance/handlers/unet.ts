/**
 * UNet cases: raw network calls (unet_eps_*, unet_inpaint9ch_eps_*, sdxl_unet_eps_*, sd2v_unet_*) and
 * BaseModel.apply_model at a sigma (unet_denoised_*, sdxl_unet_denoised_*, sd2v_denoised_*).
 * Sessions are cached per checkpoint for the run: building one costs ~2 s, a tiny call ~20 ms.
 */
import type { CaseHandler } from '../types.ts';
import { openUNet, type UNetSession } from '../../models/unet/load.ts';
import { headsFromMetadata } from '../../models/unet/config.ts';
import { applyModel } from '../../models/unet/apply.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { DiscreteModelSampling } from '../../sampling/model-sampling.ts';
import { caseTensor } from '../inputs.ts';

// controlnet.ts imports it from here.
export { caseTensor } from '../inputs.ts';

const sessions = new Map<string, Promise<UNetSession>>();

/** One session per checkpoint and head split, shared by every case of the run. */
export function unetFor(path: string, headChannels?: number): Promise<UNetSession> {
  const file = SafetensorsFile.open(path);
  const heads = headChannels ? { headChannels } : headsFromMetadata(file.metadata);
  const key = `${path}|${JSON.stringify(heads)}`;
  let s = sessions.get(key);
  if (!s) {
    s = openUNet(file, heads).finally(() => file.close());
    sessions.set(key, s);
  } else {
    file.close();
  }
  return s;
}

const RAW = /^(unet_eps_|unet_inpaint9ch_eps_|sdxl_unet_eps_|sd2v_unet_)/;
const DENOISED = /^(unet_denoised_|sdxl_unet_denoised_|sd2v_denoised_)/;

export const handler: CaseHandler = {
  topic: 'unet',
  match: (c) => RAW.test(c.name) || DENOISED.test(c.name),
  async run(c, ctx) {
    const unet = await unetFor(ctx.model('checkpoint'), typeof c.params.num_head_channels === 'number' ? c.params.num_head_channels : undefined);
    const m = await ctx.tensors();
    const x = caseTensor(m, c, 'x');
    const context = caseTensor(m, c, 'context');
    const y = c.inputs.y ? caseTensor(m, c, 'y') : undefined;
    const outKey = Object.keys(c.expected)[0]!;
    if (RAW.test(c.name)) {
      const timesteps = caseTensor(m, c, 'timesteps').data;
      const out = await unet.run({ x, timesteps, context, y });
      return { got: { [outKey]: out.data } };
    }
    const prediction = c.params.prediction_type === 'v_prediction' ? 'v_prediction' : 'eps';
    const ms = new DiscreteModelSampling({ prediction });
    const sigmas = caseTensor(m, c, 'sigma').data;
    const r = await applyModel(ms, unet, x, sigmas, context, { y });
    return { got: { denoised: r.denoised }, note: `${prediction}, t=[${Array.from(r.timesteps).join(', ')}]` };
  },
};
