/**
 * LoRA cases: lora_unet_clip (LoraLoader at the case's strengths, then the raw UNet eps and CLIPTextEncode
 * with and without clip skip) and lora_sample_euler_normal (KSampler on the patched UNet with the given
 * conds). The UNet and CLIP graphs are the ordinary builders over a LoRA-patched weight source.
 */
import os from 'node:os';
import path from 'node:path';
import type { CaseContext, CaseHandler, ConformanceCase } from '../types.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { applyLoras } from '../../models/lora/index.ts';
import { asBuilderFile } from '../../models/lora/bridge.ts';
import { openUNet, type UNetSession } from '../../models/unet/load.ts';
import { headsFromMetadata } from '../../models/unet/config.ts';
import { applyModel } from '../../models/unet/apply.ts';
import { CLIP_PREFIXES } from '../../models/clip/spec.ts';
import { CLIP_PRESETS, ClipTextEncoder, encodeTokenWeights } from '../../models/clip/encode.ts';
import { tokenizeWithWeights } from '../../models/clip/prompt.ts';
import { CLIPTokenizer } from '../../models/clip/tokenizer.ts';
import { ksample, LATENT_FORMATS } from '../../sampling/ksample.ts';
import { DiscreteModelSampling } from '../../sampling/model-sampling.ts';
import type { CondEntry, ModelFn } from '../../sampling/cfg.ts';
import { caseTensor } from '../inputs.ts';

const CACHE = path.join(os.tmpdir(), 'weft-conformance-lora');
const UNET_PREFIX = 'model.diffusion_model.';

async function patchedUNet(ctx: CaseContext, strength: number): Promise<{ unet: UNetSession; notLoaded: string[]; patched: number }> {
  const base = SafetensorsFile.open(ctx.model('checkpoint'));
  const a = applyLoras(base, { kind: 'unet', prefix: UNET_PREFIX }, [{ path: ctx.model('lora'), strength }], { cacheDir: CACHE });
  const unet = await openUNet(asBuilderFile(a.source), { prefix: UNET_PREFIX, ...headsFromMetadata(base.metadata), session: { threads: 1 } });
  return { unet, notLoaded: a.notLoaded, patched: a.patched };
}

async function unetClip(c: ConformanceCase, ctx: CaseContext) {
  const m = await ctx.tensors();
  const { unet, notLoaded, patched } = await patchedUNet(ctx, c.params.strength_model);
  const eps = (await unet.run({ x: caseTensor(m, c, 'x'), timesteps: caseTensor(m, c, 'timesteps').data, context: caseTensor(m, c, 'context') })).data;
  await unet.release();

  const base = SafetensorsFile.open(ctx.model('checkpoint'));
  const prefix = CLIP_PREFIXES.sd1;
  const a = applyLoras(base, { kind: 'clip', towers: [{ prefix, role: 'l' }] }, [{ path: ctx.model('lora'), strength: c.params.strength_clip }], { cacheDir: CACHE });
  const enc = ClipTextEncoder.open(a.source, prefix, { activation: 'quick_gelu' }, { threads: 1 });
  const t = tokenizeWithWeights(c.params.text, CLIPTokenizer.default(), { padId: CLIP_PRESETS.sd1.padId, vocabSize: enc.spec.vocab, maxLength: 77 });
  const last = await encodeTokenWeights(enc, t.chunks, CLIP_PRESETS.sd1);
  const skip = await encodeTokenWeights(enc, t.chunks, { ...CLIP_PRESETS.sd1, layer: -2 });
  await enc.release();
  // Each scope leaves the other's keys unmatched; a key missed by both would be a mapping gap.
  const missed = notLoaded.filter((k) => a.notLoaded.includes(k));
  return { got: { eps, cond_last: last.cond, cond_clipskip2: skip.cond }, note: `${patched} UNet + ${a.patched} CLIP tensors patched${missed.length ? `; NOT LOADED: ${missed.join(', ')}` : ''}` };
}

async function sample(c: ConformanceCase, ctx: CaseContext) {
  const p = c.params;
  const m = await ctx.tensors();
  const { unet } = await patchedUNet(ctx, p.strength_model);
  const ms = new DiscreteModelSampling({ prediction: 'eps' });
  const stack = (rows: readonly Tensor[]): Tensor => {
    const per = rows[0]!.data.length;
    const data = new Float32Array(per * rows.length);
    rows.forEach((r, i) => data.set(r.data, i * per));
    return { shape: [rows.length, ...rows[0]!.shape.slice(1)], data };
  };
  const model: ModelFn = async (x, sigma, rows) => {
    const r = await applyModel(ms, unet, x, new Array<number>(rows.length).fill(sigma), stack(rows.map((r) => r.context)));
    return { shape: x.shape, data: r.denoised };
  };
  const cond: CondEntry = { context: caseTensor(m, c, 'cond') };
  const uncond: CondEntry = { context: caseTensor(m, c, 'uncond') };
  const res = await ksample({
    model, modelSampling: ms, latentFormat: LATENT_FORMATS.sd1, positive: [cond], negative: [uncond], cfg: p.cfg,
    latent: caseTensor(m, c, 'latent_image'), seed: BigInt(p.seed), sampler: p.sampler, scheduler: p.scheduler, steps: p.steps, denoise: p.denoise,
  });
  await unet.release();
  return { got: { samples: res.samples.data }, note: 'noise: seed' };
}

export const handler: CaseHandler = {
  topic: 'lora',
  match: (c) => c.name === 'lora_unet_clip' || c.name === 'lora_sample_euler_normal',
  run: (c, ctx) => (c.name === 'lora_unet_clip' ? unetClip(c, ctx) : sample(c, ctx)),
};
