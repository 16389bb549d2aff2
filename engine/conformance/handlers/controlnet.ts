/**
 * ControlNet cases. controlnet_eps: ControlNetApply at `strength` + the UNet at one sigma. The ControlNet sees the UNet's own
 * c_in-scaled x, timestep and context; its residuals × strength feed the UNet's control inputs.
 *
 * What the vectors hold (measured): `expected.denoised` is the controlled apply_model result, while
 * `expected.eps` is the bare diffusion_model call WITHOUT control (it matches the uncontrolled UNet to 2e-6
 * and differs from the controlled one by 0.73). So eps is computed uncontrolled here, denoised controlled.
 */
import type { CaseContext, CaseHandler, CaseOutcome, ConformanceCase } from '../types.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { ksample, LATENT_FORMATS } from '../../sampling/ksample.ts';
import type { ModelFn } from '../../sampling/cfg.ts';
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

/** Stacks per-row [1, …] tensors into [rows, …]. */
function stack(rows: readonly Tensor[]): Tensor {
  const per = rows[0]!.data.length;
  const data = new Float32Array(per * rows.length);
  rows.forEach((r, i) => data.set(r.data, i * per));
  return { shape: [rows.length, ...rows[0]!.shape.slice(1)], data };
}

/**
 * controlnet_sample_*: KSampler with ControlNetApply on the positive conditioning. ComfyUI applies the
 * residuals to every row of each model call (control_apply_to_uncond), so the ControlNet runs on the whole
 * [cond, uncond] batch with each row's own context and the hint repeated.
 */
async function sample(c: ConformanceCase, ctx: CaseContext): Promise<CaseOutcome> {
  const p = c.params;
  const m = await ctx.tensors();
  const ms = new DiscreteModelSampling();
  const unet = await controlledUNet(ctx.model('checkpoint'));
  const cn = await loadControlNet(ctx.model('controlnet'));
  const image = caseTensor(m, c, 'hint_image_nhwc');
  const strength = Number(p.strength ?? 1);
  try {
    const model: ModelFn = async (x, sigma, rows) => {
      const [B, , H, W] = x.shape as [number, number, number, number];
      const sigmas = new Array<number>(B).fill(sigma);
      const timesteps = Float32Array.from(sigmas, (s) => ms.timestep(s));
      const xin = { shape: x.shape, data: scaleInput(ms, x.data, sigmas) };
      const context = stack(rows.map((r) => r.context));
      const residuals = await cn.run({ x: xin, hint: prepareHint(image, B, H, W), timesteps, context });
      const out = await unet.run({ x: xin, timesteps, context, control: mergeControl(residuals, strength) });
      return { shape: x.shape, data: denoiseBatch(ms, x.data, out.data, sigmas) };
    };
    const res = await ksample({
      model, modelSampling: ms, latentFormat: LATENT_FORMATS.sd1, cfg: p.cfg, latent: caseTensor(m, c, 'latent_image'),
      positive: [{ context: caseTensor(m, c, 'cond') }], negative: [{ context: caseTensor(m, c, 'uncond') }],
      seed: BigInt(p.seed as number | bigint), sampler: p.sampler, scheduler: p.scheduler, steps: p.steps, denoise: p.denoise,
    });
    return { got: { samples: res.samples.data }, note: `strength ${strength} on both CFG halves` };
  } finally {
    await cn.release();
  }
}

export const handler: CaseHandler = {
  topic: 'controlnet',
  match: (c) => c.name === 'controlnet_eps' || (c.name.startsWith('controlnet_sample_') && typeof c.params?.sampler === 'string'),
  async run(c, ctx) {
    if (c.name.startsWith('controlnet_sample_')) return sample(c, ctx);
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
