/**
 * IP-Adapter cases (ipadapter_*, ipadapter_plus_*): image tokens from the reference image through CLIP vision
 * and the adapter's projection; the UNet with the adapter at weight 0.8 on a [cond, uncond] pair; and a
 * KSampler trajectory whose batch rows get cond or uncond image tokens by which list they came from.
 */
import type { CaseContext, CaseHandler, CaseTensor, ConformanceCase } from '../types.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { ClipVisionModel } from '../../models/clip-vision/model.ts';
import { IpAdapterModel } from '../../models/ipadapter/file.ts';
import { encodeImageTokens } from '../../models/ipadapter/apply.ts';
import { openIpUNet, type IpUNetSession } from '../../models/ipadapter/session.ts';
import { applyModel } from '../../models/unet/apply.ts';
import { DiscreteModelSampling } from '../../sampling/model-sampling.ts';
import { ksample, LATENT_FORMATS } from '../../sampling/ksample.ts';
import type { CondEntry, ModelFn } from '../../sampling/cfg.ts';

const sessions = new Map<string, Promise<IpUNetSession>>();

function unet(ckpt: string, adapter: string): Promise<IpUNetSession> {
  const key = `${ckpt}|${adapter}`;
  let s = sessions.get(key);
  if (!s) sessions.set(key, (s = openIpUNet(ckpt, IpAdapterModel.open(adapter), 'V only', 1)));
  return s;
}

function get(m: Map<string, CaseTensor>, c: ConformanceCase, name: string): Tensor {
  const ref = c.inputs[name] ?? c.aux?.[name];
  const t = ref && m.get(ref.tensor);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`case ${c.name}: tensor "${name}" missing`);
  return { shape: t.shape, data: t.data };
}

/** Stacks each row's [1, T, C] tokens into [rows, T, C]. */
function rowsOf(list: readonly Tensor[]): Tensor {
  const per = list[0]!.data.length;
  const data = new Float32Array(per * list.length);
  list.forEach((t, i) => data.set(t.data, i * per));
  return { shape: [list.length, ...list[0]!.shape.slice(1)], data };
}

async function run(c: ConformanceCase, ctx: CaseContext): Promise<Record<string, Float32Array>> {
  const m = await ctx.tensors();
  if (c.name.endsWith('image_tokens')) {
    const cv = ClipVisionModel.open(ctx.model('clip_vision'), { threads: 1 });
    try {
      const t = await encodeImageTokens(IpAdapterModel.open(ctx.model('ipadapter')), cv, get(m, c, 'image_nhwc'));
      return { cond_tokens: t.cond.data, uncond_tokens: t.uncond.data };
    } finally {
      await cv.release();
    }
  }
  const u = await unet(ctx.model('checkpoint'), ctx.model('ipadapter'));
  const weights = u.weightsFor(c.params.weight as number);
  const cond = get(m, c, 'ip_cond_tokens');
  const uncond = get(m, c, 'ip_uncond_tokens');
  const ms = new DiscreteModelSampling({ prediction: 'eps' });
  const raw = (tokens: Tensor) => ({ run: (i: { x: Tensor; timesteps: Float32Array; context: Tensor }) => u.run({ ...i, tokens, weights }) });
  if (c.params.sampler === undefined) {
    const sides = c.params.cond_or_uncond as number[];
    const tokens = rowsOf(sides.map((s) => (s === 1 ? uncond : cond)));
    const r = await applyModel(ms, raw(tokens), get(m, c, 'x'), get(m, c, 'sigma').data, get(m, c, 'context'));
    return { eps: r.raw, denoised: r.denoised };
  }
  const p = c.params;
  const pos: CondEntry = { context: get(m, c, 'cond'), extra: { cond_or_uncond: 0 } };
  const neg: CondEntry = { context: get(m, c, 'uncond'), extra: { cond_or_uncond: 1 } };
  const model: ModelFn = async (x, sigma, rows) => {
    const tokens = rowsOf(rows.map((e) => (e.extra?.cond_or_uncond === 1 ? uncond : cond)));
    const context = rowsOf(rows.map((e) => e.context));
    const r = await applyModel(ms, raw(tokens), x, new Array<number>(rows.length).fill(sigma), context);
    return { shape: x.shape, data: r.denoised };
  };
  const res = await ksample({
    model, modelSampling: ms, latentFormat: LATENT_FORMATS.sd1, positive: [pos], negative: [neg], cfg: p.cfg,
    latent: get(m, c, 'latent_image'), seed: BigInt(p.seed as number), sampler: p.sampler, scheduler: p.scheduler, steps: p.steps, denoise: p.denoise,
  });
  return { samples: res.samples.data };
}

export const handler: CaseHandler = {
  topic: 'ipadapter',
  match: (c) => c.name.startsWith('ipadapter_'),
  async run(c, ctx) {
    return { got: await run(c, ctx) };
  },
};
