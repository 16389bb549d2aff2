/**
 * controlnet_eps: ControlNetApply at `strength` + the UNet at one sigma. The ControlNet sees the UNet's own
 * c_in-scaled x, timestep and context; its residuals × strength feed the UNet's control inputs.
 *
 * What the vectors hold (measured): `expected.denoised` is the controlled apply_model result, while
 * `expected.eps` is the bare diffusion_model call WITHOUT control (it matches the uncontrolled UNet to 2e-6
 * and differs from the controlled one by 0.73). So eps is computed uncontrolled here, denoised controlled.
 */
import type { CaseHandler } from '../types.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { openUNet, type UNetSession } from '../../models/unet/load.ts';
import { scaleInput, denoiseBatch } from '../../models/unet/apply.ts';
import { loadControlNet, mergeControl, prepareHint } from '../../models/controlnet/load.ts';
import { DiscreteModelSampling } from '../../sampling/model-sampling.ts';
import { caseTensor } from './unet.ts';

const unets = new Map<string, Promise<UNetSession>>();

function controlledUNet(path: string): Promise<UNetSession> {
  let s = unets.get(path);
  if (!s) {
    s = (async () => {
      const f = SafetensorsFile.open(path);
      try {
        return await openUNet(f, { withControl: true });
      } finally {
        f.close();
      }
    })();
    unets.set(path, s);
  }
  return s;
}

export const handler: CaseHandler = {
  topic: 'controlnet',
  match: (c) => c.name === 'controlnet_eps' || (c.name.startsWith('controlnet_') && c.function.includes('ControlNetApply') && 'eps' in c.expected),
  async run(c, ctx) {
    const m = await ctx.tensors();
    const x = caseTensor(m, c, 'x');
    const context = caseTensor(m, c, 'context');
    const sigmas = caseTensor(m, c, 'sigma').data;
    const [B, , H, W] = x.shape as [number, number, number, number];
    const ms = new DiscreteModelSampling();
    const timesteps = Float32Array.from(Array.from(sigmas, (s) => ms.timestep(s)));
    const xin = { shape: x.shape, data: scaleInput(ms, x.data, sigmas) };
    const hint = prepareHint(caseTensor(m, c, 'hint_image_nhwc'), B, H, W);
    const cn = await loadControlNet(ctx.model('controlnet'));
    try {
      const residuals = await cn.run({ x: xin, hint, timesteps, context });
      const control = mergeControl(residuals, Number(c.params.strength ?? 1));
      const unet = await controlledUNet(ctx.model('checkpoint'));
      const controlled = await unet.run({ x: xin, timesteps, context, control });
      const zeros = control.map((r) => ({ shape: r.shape, data: new Float32Array(r.data.length) }));
      const bare = await unet.run({ x: xin, timesteps, context, control: zeros });
      return {
        got: { eps: bare.data, denoised: denoiseBatch(ms, x.data, controlled.data, sigmas) },
        note: `t=${timesteps[0]}; eps compared uncontrolled, denoised controlled (see handler comment)`,
      };
    } finally {
      await cn.release();
    }
  },
};
