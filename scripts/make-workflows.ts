/**
 * Builds Weft's example workflows (workflows/*.json, ComfyUI UI format 0.4) and workflows/index.json from
 * API-like descriptions: apiToUi makes every file a valid graph for the current node schemas, then titles,
 * groups and model names are set here (the add-on examples in workflow-addons.ts, shared pieces in
 * workflow-parts.ts). Run: node --import tsx scripts/make-workflows.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { apiToUi, type UiNode } from '../engine/workflow/index.ts';
import { createRegistry } from '../nodes/index.ts';
import { addonSpecs } from './workflow-addons.ts';
import { base, empty, fluxSchnell, G, load, MODELS, NEG, node, POS, set, type Spec } from './workflow-parts.ts';

export { MODELS } from './workflow-parts.ts';

const specs: Spec[] = [
  { file: 'txt2img.json', title: 'Text to image', technique: 'txt2img', description: 'The basic graph: a checkpoint, two prompts, an empty latent, one KSampler.',
    prompt: { ...base(MODELS.sd15, ['4', 0]), 4: empty() }, groups: G },
  { file: 'img2img.json', title: 'Image to image', technique: 'img2img', description: 'Encode a picture and re-sample it partially (denoise 0.6 keeps the composition).',
    prompt: { ...base(MODELS.sd15, ['4', 0], { denoise: 0.6 }), 8: load('example.png', 'Input image'), 4: node('VAEEncode', { pixels: ['8', 0], vae: ['1', 2] }) },
    groups: { ...G, input: ['8'] } },
  { file: 'inpaint-vae-encode.json', title: 'Inpaint (VAE Encode for Inpaint)', technique: 'inpaint',
    description: 'An inpainting checkpoint repaints the transparent area of the image; the masked pixels are greyed before encoding.',
    prompt: { ...base(MODELS.sd15Inpaint, ['4', 0], { pos: 'a small red fox sitting in the grass' }), 8: load('inpaint_example.png', 'Image with transparent area'), 4: node('VAEEncodeForInpaint', { pixels: ['8', 0], vae: ['1', 2], mask: ['8', 1], grow_mask_by: 6 }) },
    groups: { ...G, input: ['8'] } },
  { file: 'inpaint-model-conditioning.json', title: 'Inpaint (InpaintModelConditioning)', technique: 'inpaint',
    description: 'A 9-channel inpainting model sees the masked image and the mask through its conditioning; the latent keeps the original pixels.',
    prompt: {
      ...base(MODELS.sd15Inpaint, ['9', 2], { pos: 'a small red fox sitting in the grass' }), 8: load('inpaint_example.png', 'Image with transparent area'),
      9: node('InpaintModelConditioning', { positive: ['2', 0], negative: ['3', 0], vae: ['1', 2], pixels: ['8', 0], mask: ['8', 1], noise_mask: true }),
    },
    groups: { ...G, input: ['8', '9'] } },
  { file: 'outpaint.json', title: 'Outpaint', technique: 'outpaint', description: 'Pad the canvas (grey, masked) and let an inpainting model continue the picture.',
    prompt: {
      ...base(MODELS.sd15Inpaint, ['4', 0]), 8: load('example.png', 'Input image'),
      9: node('ImagePadForOutpaint', { image: ['8', 0], left: 0, top: 128, right: 256, bottom: 0, feathering: 40 }),
      4: node('VAEEncodeForInpaint', { pixels: ['9', 0], vae: ['1', 2], mask: ['9', 1], grow_mask_by: 8 }),
    },
    groups: { ...G, input: ['8', '9'] } },
  { file: 'masked-original.json', title: 'Masked content: original', technique: 'inpaint',
    description: 'Any checkpoint: the encoded picture with a noise mask, re-sampled at denoise 0.75, so the masked area starts from the original.',
    prompt: { ...base(MODELS.sd15, ['9', 0], { denoise: 0.75 }), 8: load('inpaint_example.png', 'Image with transparent area'), 4: node('VAEEncode', { pixels: ['8', 0], vae: ['1', 2] }), 9: node('SetLatentNoiseMask', { samples: ['4', 0], mask: ['8', 1] }) },
    groups: { ...G, input: ['8', '9'] } },
  { file: 'masked-latent-noise.json', title: 'Masked content: latent noise', technique: 'inpaint',
    description: 'As "original" at denoise 1: the masked area starts from pure noise, the rest is kept.',
    prompt: { ...base(MODELS.sd15, ['9', 0]), 8: load('inpaint_example.png', 'Image with transparent area'), 4: node('VAEEncode', { pixels: ['8', 0], vae: ['1', 2] }), 9: node('SetLatentNoiseMask', { samples: ['4', 0], mask: ['8', 1] }) },
    groups: { ...G, input: ['8', '9'] } },
  { file: 'masked-latent-nothing.json', title: 'Masked content: latent nothing', technique: 'inpaint',
    description: 'The masked area of the encoded picture is replaced by a zero latent before sampling at denoise 0.9.',
    prompt: {
      ...base(MODELS.sd15, ['11', 0], { denoise: 0.9 }), 8: load('inpaint_example.png', 'Image with transparent area'), 4: node('VAEEncode', { pixels: ['8', 0], vae: ['1', 2] }),
      9: empty(), 10: node('LatentCompositeMasked', { destination: ['4', 0], source: ['9', 0], x: 0, y: 0, resize_source: true, mask: ['8', 1] }, 'Zero the masked area'),
      11: node('SetLatentNoiseMask', { samples: ['10', 0], mask: ['8', 1] }),
    },
    groups: { ...G, input: ['8', '9', '10', '11'] } },
  { file: 'hires-fix.json', title: 'Hires fix', technique: 'hires-fix', description: 'Sample at 512, upscale the latent 2×, re-sample at denoise 0.5 for detail.',
    prompt: {
      ...base(MODELS.sd15, ['4', 0]), 4: empty(), 7: node('PreviewImage', { images: ['6', 0] }, 'First pass'),
      8: node('LatentUpscale', { samples: ['5', 0], upscale_method: 'nearest-exact', width: 1024, height: 1024, crop: 'disabled' }),
      9: node('KSampler', { seed: 43, steps: 14, cfg: 7, sampler_name: 'dpmpp_2m', scheduler: 'karras', denoise: 0.5, model: ['1', 0], positive: ['2', 0], negative: ['3', 0], latent_image: ['8', 0] }, 'Second pass'),
      10: node('VAEDecode', { samples: ['9', 0], vae: ['1', 2] }), 11: node('SaveImage', { filename_prefix: 'weft-hires', images: ['10', 0] }),
    },
    groups: { ...G, 'second pass': ['8', '9', '10', '11'] } },
  { file: 'area-composition.json', title: 'Area composition', technique: 'area-composition', description: 'A background prompt for the whole picture and a subject prompt for one square area.',
    prompt: set({
      ...base(MODELS.sd15, ['4', 0], { pos: 'a wide meadow under a blue sky, landscape' }), 4: empty(768, 512),
      8: node('CLIPTextEncode', { text: 'a red hot-air balloon', clip: ['1', 1] }, 'Subject prompt'),
      9: node('ConditioningSetArea', { conditioning: ['8', 0], width: 256, height: 256, x: 256, y: 64, strength: 1 }),
      10: node('ConditioningCombine', { conditioning_1: ['2', 0], conditioning_2: ['9', 0] }),
    }, '5', { positive: ['10', 0] }),
    groups: { ...G, prompts: ['2', '3', '8', '9', '10'] } },
];

specs.push(
  { file: 'lora.json', title: 'LoRA', technique: 'lora', description: 'A LoRA patches both the diffusion model and the text encoder; strengths per side.',
    prompt: { ...base(MODELS.sd15, ['4', 0], { model: ['8', 0], clip: ['8', 1] }), 4: empty(), 8: node('LoraLoader', { model: ['1', 0], clip: ['1', 1], lora_name: MODELS.lora, strength_model: 0.8, strength_clip: 0.8 }) },
    groups: { ...G, model: ['1', '8'] } },
  { file: 'textual-inversion.json', title: 'Textual inversion (embeddings)', technique: 'textual-inversion',
    description: 'embedding:name in a prompt inserts the vectors of models/embeddings/name.safetensors (here a negative embedding).',
    prompt: { ...base(MODELS.sd15, ['4', 0], { neg: 'embedding:EasyNegative, blurry, watermark' }), 4: empty() }, groups: G },
  { file: 'esrgan-upscale.json', title: 'Upscale with a model (ESRGAN)', technique: 'upscale', description: 'Generate, then enlarge 4× with an ESRGAN-family upscaler from models/upscale_models.',
    prompt: {
      ...base(MODELS.sd15, ['4', 0]), 4: empty(), 7: node('PreviewImage', { images: ['6', 0] }, 'Before upscaling'),
      8: node('UpscaleModelLoader', { model_name: MODELS.esrgan }), 9: node('ImageUpscaleWithModel', { upscale_model: ['8', 0], image: ['6', 0] }),
      10: node('SaveImage', { filename_prefix: 'weft-upscaled', images: ['9', 0] }),
    },
    groups: { ...G, upscale: ['8', '9', '10'] } },
  { file: 'sdxl.json', title: 'SDXL base', technique: 'sdxl', description: 'SDXL at its native 1024×1024 with the base checkpoint alone.',
    prompt: { ...base(MODELS.sdxl, ['4', 0], { steps: 25, cfg: 7, scheduler: 'karras', sampler: 'dpmpp_2m' }), 4: empty(1024, 1024) }, groups: G },
  { file: 'sd-turbo.json', title: 'SDXL Turbo (custom sampling)', technique: 'turbo', description: 'One step at cfg 1: SamplerCustom with the SD Turbo schedule and euler_ancestral.',
    prompt: {
      1: node('CheckpointLoaderSimple', { ckpt_name: MODELS.turbo }),
      2: node('CLIPTextEncode', { text: POS, clip: ['1', 1] }, 'Positive prompt'), 3: node('CLIPTextEncode', { text: NEG, clip: ['1', 1] }, 'Negative prompt'),
      4: empty(), 8: node('KSamplerSelect', { sampler_name: 'euler_ancestral' }), 9: node('SDTurboScheduler', { model: ['1', 0], steps: 1, denoise: 1 }),
      5: node('SamplerCustom', { model: ['1', 0], add_noise: true, noise_seed: 42, cfg: 1, positive: ['2', 0], negative: ['3', 0], sampler: ['8', 0], sigmas: ['9', 0], latent_image: ['4', 0] }),
      6: node('VAEDecode', { samples: ['5', 0], vae: ['1', 2] }), 7: node('SaveImage', { filename_prefix: 'weft-turbo', images: ['6', 0] }),
    },
    groups: { ...G, sample: ['4', '5', '8', '9'] } },
  { file: 'lcm.json', title: 'LCM LoRA (4 steps)', technique: 'lcm', description: 'The LCM LoRA with ModelSamplingDiscrete "lcm" and the lcm sampler: 4 steps at cfg 1.5.',
    prompt: {
      ...base(MODELS.sd15, ['4', 0], { steps: 4, cfg: 1.5, sampler: 'lcm', scheduler: 'sgm_uniform', model: ['9', 0], clip: ['8', 1] }), 4: empty(),
      8: node('LoraLoader', { model: ['1', 0], clip: ['1', 1], lora_name: MODELS.lcmLora, strength_model: 1, strength_clip: 1 }),
      9: node('ModelSamplingDiscrete', { model: ['8', 0], sampling: 'lcm', zsnr: false }),
    },
    groups: { ...G, model: ['1', '8', '9'] } },
  { file: 'controlnet-canny.json', title: 'ControlNet (canny edges)', technique: 'controlnet', description: 'Edges of a picture (Canny) steer the composition through a ControlNet.',
    prompt: set({
      ...base(MODELS.sd15, ['4', 0]), 4: empty(), 8: load('example.png', 'Control picture'), 9: node('Canny', { image: ['8', 0], low_threshold: 0.4, high_threshold: 0.8 }),
      10: node('ControlNetLoader', { control_net_name: MODELS.canny }),
      11: node('ControlNetApplyAdvanced', { positive: ['2', 0], negative: ['3', 0], control_net: ['10', 0], image: ['9', 0], strength: 0.9, start_percent: 0, end_percent: 1 }),
    }, '5', { positive: ['11', 0], negative: ['11', 1] }),
    groups: { ...G, control: ['8', '9', '10', '11'] } },
  { file: 'controlnet-depth.json', title: 'ControlNet (depth map)', technique: 'controlnet',
    description: 'A depth map you already have (white = near) steers the layout through a depth ControlNet; no preprocessor runs.',
    prompt: set({
      ...base(MODELS.sd15, ['4', 0]), 4: empty(), 8: load('depth.png', 'Depth map'),
      10: node('ControlNetLoader', { control_net_name: MODELS.depth }),
      11: node('ControlNetApplyAdvanced', { positive: ['2', 0], negative: ['3', 0], control_net: ['10', 0], image: ['8', 0], strength: 1, start_percent: 0, end_percent: 1 }),
    }, '5', { positive: ['11', 0], negative: ['11', 1] }),
    groups: { ...G, control: ['8', '10', '11'] } },
  { file: 'ipadapter.json', title: 'IP-Adapter (image prompt)', technique: 'ipadapter',
    description: 'A reference picture prompts the model through an IP-Adapter (with its ViT-H CLIP vision encoder) next to the text.',
    prompt: set({
      ...base(MODELS.sd15, ['4', 0]), 4: empty(), 8: load('example.png', 'Reference picture'),
      9: node('IPAdapterModelLoader', { ipadapter_file: MODELS.ipAdapter }),
      10: node('CLIPVisionLoader', { clip_name: MODELS.clipVisionH }),
      11: node('IPAdapterAdvanced', {
        model: ['1', 0], ipadapter: ['9', 0], image: ['8', 0], weight: 0.8, weight_type: 'linear', combine_embeds: 'concat',
        start_at: 0, end_at: 1, embeds_scaling: 'V only', clip_vision: ['10', 0],
      }),
    }, '5', { model: ['11', 0] }),
    groups: { ...G, 'image prompt': ['8', '9', '10', '11'] } },
  { file: 'interrogate-regenerate.json', title: 'Interrogate, then regenerate', technique: 'interrogate',
    description: 'CLIP Interrogate describes a picture; the description becomes the prompt of a new image.',
    prompt: set({
      ...base(MODELS.sd15, ['4', 0]), 4: empty(), 8: load('example.png', 'Picture to describe'),
      9: node('WeftCLIPInterrogate', { image: ['8', 0], clip_name: MODELS.clip, mode: 'fast', max_phrases: 12, extra_phrases: '' }),
      10: node('WeftShowText', { text: ['9', 0] }),
    }, '2', { text: ['9', 0] }),
    groups: { ...G, interrogate: ['8', '9', '10'] } },
  { file: 'flux-schnell.json', title: 'FLUX schnell (4 steps)', technique: 'flux',
    description: 'FLUX.1 schnell from its separate files: the diffusion model, clip_l + t5xxl (type flux), the 16-channel ae; 4 euler steps at cfg 1. Needs the T5 tokenizer in models/text_encoders/t5/.',
    prompt: fluxSchnell(), groups: { ...G, model: ['1', '8', '9'] } },
);
specs.push(...addonSpecs);

const COLORS = ['#3f789e', '#8A8', '#a1309b', '#b06634', '#88A', '#b58b2a'];

/** Tidy titles and groups around the members that apiToUi laid out in columns. */
function decorate(spec: Spec, nodes: UiNode[]): unknown[] {
  const byId = new Map(nodes.map((n) => [String(n.id), n]));
  return Object.entries(spec.groups).map(([title, ids], i) => {
    const members = ids.map((id) => byId.get(id)).filter((n): n is UiNode => !!n);
    const x0 = Math.min(...members.map((n) => (n.pos as number[])[0]!)) - 20;
    const y0 = Math.min(...members.map((n) => (n.pos as number[])[1]!)) - 60;
    const x1 = Math.max(...members.map((n) => (n.pos as number[])[0]! + (n.size as number[])[0]!)) + 20;
    const y1 = Math.max(...members.map((n) => (n.pos as number[])[1]! + (n.size as number[])[1]!)) + 20;
    return { id: i + 1, title: title[0]!.toUpperCase() + title.slice(1), bounding: [x0, y0, x1 - x0, y1 - y0], color: COLORS[i % COLORS.length], font_size: 24, flags: {} };
  });
}

export function buildWorkflows(): Array<{ spec: Spec; ui: ReturnType<typeof apiToUi> }> {
  const registry = createRegistry();
  return specs.map((spec) => {
    const ui = apiToUi(spec.prompt, registry);
    ui.groups = decorate(spec, ui.nodes as UiNode[]);
    ui.extra = { weft: { title: spec.title, technique: spec.technique } };
    return { spec, ui };
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const out = path.resolve(import.meta.dirname, '../workflows');
  fs.mkdirSync(out, { recursive: true });
  const index = [];
  for (const { spec, ui } of buildWorkflows()) {
    fs.writeFileSync(path.join(out, spec.file), `${JSON.stringify(ui, null, 2)}\n`);
    index.push({ file: spec.file, title: spec.title, description: spec.description, technique: spec.technique });
  }
  fs.writeFileSync(path.join(out, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  console.log(`wrote ${index.length} workflows to ${out}`);
}
