/**
 * The pieces scripts/make-workflows.ts and its spec lists build example workflows from: the model file names,
 * the API-like node helper and the common loader → prompts → sampler → save skeleton.
 */
import type { ApiPrompt } from '../engine/workflow/index.ts';

/** File names people have in their models folders. */
export const MODELS = {
  sd15: 'v1-5-pruned-emaonly-fp16.safetensors',
  sd15Inpaint: 'sd-v1-5-inpainting.ckpt',
  sdxl: 'sd_xl_base_1.0.safetensors',
  turbo: 'sd_xl_turbo_1.0_fp16.safetensors',
  lora: 'add_detail.safetensors',
  lcmLora: 'lcm-lora-sdv1-5.safetensors',
  esrgan: 'RealESRGAN_x4plus.pth',
  canny: 'control_v11p_sd15_canny_fp16.safetensors',
  depth: 'control_v11f1p_sd15_depth_fp16.safetensors',
  ipAdapter: 'ip-adapter_sd15.safetensors',
  clipVisionH: 'CLIP-ViT-H-14-laion2B-s32B-b79K.safetensors',
  clip: 'clip-vit-large-patch14.safetensors',
  fluxSchnell: 'flux1-schnell.safetensors',
  clipL: 'clip_l.safetensors',
  t5xxl: 't5xxl_fp8_e4m3fn.safetensors',
  fluxAe: 'ae.safetensors',
  hypernetwork: 'sd15-style-hypernetwork.pt',
  unionSdxl: 'controlnet-union-sdxl-1.0-promax.safetensors',
  fluxLora: 'flux-detail-lora.safetensors',
  gligen: 'gligen_sd14_textbox_pruned.safetensors',
};

export type L = [string, number];
export interface Spec { file: string; title: string; technique: string; description: string; prompt: ApiPrompt; groups: Record<string, string[]> }

export const node = (class_type: string, inputs: Record<string, unknown>, title?: string) => ({ class_type, inputs, ...(title ? { _meta: { title } } : {}) });
export const POS = 'a cozy wooden cabin by a mountain lake at golden hour, detailed, soft light';
export const NEG = 'blurry, low quality, watermark, text';

/** Loader, two prompts, sampler, decode, save: ids 1–7, the sampler's latent input left to the caller. */
export function base(ckpt: string, latent: L, o: { pos?: string; neg?: string; steps?: number; cfg?: number; sampler?: string; scheduler?: string; denoise?: number; model?: L; clip?: L; seed?: number } = {}): ApiPrompt {
  return {
    1: node('CheckpointLoaderSimple', { ckpt_name: ckpt }),
    2: node('CLIPTextEncode', { text: o.pos ?? POS, clip: o.clip ?? ['1', 1] }, 'Positive prompt'),
    3: node('CLIPTextEncode', { text: o.neg ?? NEG, clip: o.clip ?? ['1', 1] }, 'Negative prompt'),
    5: node('KSampler', {
      seed: o.seed ?? 42, steps: o.steps ?? 20, cfg: o.cfg ?? 7, sampler_name: o.sampler ?? 'euler', scheduler: o.scheduler ?? 'normal', denoise: o.denoise ?? 1,
      model: o.model ?? ['1', 0], positive: ['2', 0], negative: ['3', 0], latent_image: latent,
    }),
    6: node('VAEDecode', { samples: ['5', 0], vae: ['1', 2] }),
    7: node('SaveImage', { filename_prefix: 'weft', images: ['6', 0] }),
  };
}
export const empty = (w = 512, h = 512) => node('EmptyLatentImage', { width: w, height: h, batch_size: 1 });
export const load = (image: string, title?: string) => node('LoadImage', { image }, title);
/** Sets inputs of node `id` (rewiring what base() connected). */
export function set(p: ApiPrompt, id: string, inputs: Record<string, unknown>): ApiPrompt {
  Object.assign(p[id]!.inputs, inputs);
  return p;
}
export const G = { model: ['1'], prompts: ['2', '3'], sample: ['4', '5'], output: ['6', '7'] };

/** FLUX.1 schnell from its separate files, ids 1–9; `model` is what the sampler samples with (default the UNETLoader). */
export function fluxSchnell(model: L = ['1', 0]): ApiPrompt {
  return {
    1: node('UNETLoader', { unet_name: MODELS.fluxSchnell, weight_dtype: 'default' }),
    8: node('DualCLIPLoader', { clip_name1: MODELS.clipL, clip_name2: MODELS.t5xxl, type: 'flux' }),
    9: node('VAELoader', { vae_name: MODELS.fluxAe }),
    2: node('CLIPTextEncode', { text: POS, clip: ['8', 0] }, 'Prompt'),
    // schnell is guidance-distilled: at cfg 1 the negative is never evaluated, an empty prompt fills the socket.
    3: node('CLIPTextEncode', { text: '', clip: ['8', 0] }, 'Unused negative (cfg 1)'),
    4: node('EmptySD3LatentImage', { width: 1024, height: 1024, batch_size: 1 }),
    5: node('KSampler', { seed: 42, steps: 4, cfg: 1, sampler_name: 'euler', scheduler: 'simple', denoise: 1, model, positive: ['2', 0], negative: ['3', 0], latent_image: ['4', 0] }),
    6: node('VAEDecode', { samples: ['5', 0], vae: ['9', 0] }),
    7: node('SaveImage', { filename_prefix: 'weft-flux', images: ['6', 0] }),
  };
}
