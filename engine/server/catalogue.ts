/**
 * Models the UI offers to download. `sha256` is given only where it was verified; an unknown hash
 * stays undefined (the downloader then skips the check) rather than a guessed one that would fail.
 */
export interface CatalogueEntry {
  id: string;
  name: string;
  /** ComfyUI model folder key (the downloader's `folder`). */
  folder: string;
  filename: string;
  url: string;
  sha256?: string;
  description: string;
}

const HF = 'https://huggingface.co';

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    id: 'sd15',
    name: 'Stable Diffusion 1.5 (pruned, EMA only, fp16)',
    folder: 'checkpoints',
    filename: 'v1-5-pruned-emaonly-fp16.safetensors',
    url: `${HF}/Comfy-Org/stable-diffusion-v1-5-archive/resolve/main/v1-5-pruned-emaonly-fp16.safetensors`,
    description: 'The SD1.5 checkpoint most ComfyUI example workflows use; 512×512.',
  },
  {
    id: 'sdxl-base',
    name: 'Stable Diffusion XL base 1.0',
    folder: 'checkpoints',
    filename: 'sd_xl_base_1.0.safetensors',
    url: `${HF}/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors`,
    description: 'SDXL base model; 1024×1024.',
  },
  {
    id: 'sd-turbo',
    name: 'SD-Turbo',
    folder: 'checkpoints',
    filename: 'sd_turbo.safetensors',
    url: `${HF}/stabilityai/sd-turbo/resolve/main/sd_turbo.safetensors`,
    description: 'Distilled SD2.1 for 1–4 step sampling (cfg 1.0); 512×512.',
  },
  {
    id: 'controlnet-canny-sd15',
    name: 'ControlNet 1.1 Canny (SD1.5, fp16)',
    folder: 'controlnet',
    filename: 'control_v11p_sd15_canny_fp16.safetensors',
    url: `${HF}/comfyanonymous/ControlNet-v1-1_fp16_safetensors/resolve/main/control_v11p_sd15_canny_fp16.safetensors`,
    description: 'Edge-guided generation for SD1.5 models; pair with the Canny node.',
  },
  {
    id: 'realesrgan-x4',
    name: 'RealESRGAN x4plus',
    folder: 'upscale_models',
    filename: 'RealESRGAN_x4plus.pth',
    url: 'https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth',
    description: '4× image upscaler (UpscaleModelLoader + ImageUpscaleWithModel).',
  },
  {
    id: 'ipadapter-sd15',
    name: 'IP-Adapter SD1.5',
    folder: 'ipadapter',
    filename: 'ip-adapter_sd15.safetensors',
    url: `${HF}/h94/IP-Adapter/resolve/main/models/ip-adapter_sd15.safetensors`,
    description: 'Image prompt adapter for SD1.5; needs the ViT-H CLIP vision encoder below.',
  },
  {
    id: 'clip-vision-vit-h',
    name: 'CLIP Vision ViT-H/14 (for IP-Adapter SD1.5)',
    folder: 'clip_vision',
    filename: 'CLIP-ViT-H-14-laion2B-s32B-b79K.safetensors',
    url: `${HF}/h94/IP-Adapter/resolve/main/models/image_encoder/model.safetensors`,
    description: 'Image encoder IP-Adapter SD1.5 models were trained with.',
  },
  {
    id: 'clip-l',
    name: 'CLIP-L text encoder',
    folder: 'text_encoders',
    filename: 'clip_l.safetensors',
    url: `${HF}/comfyanonymous/flux_text_encoders/resolve/main/clip_l.safetensors`,
    description: 'OpenAI CLIP ViT-L/14 text encoder (SD1.5 / SDXL / Flux / SD3 text side).',
  },
  {
    id: 'flux-schnell',
    name: 'FLUX.1 [schnell] (diffusion model, Apache-2.0)',
    folder: 'diffusion_models',
    filename: 'flux1-schnell.safetensors',
    url: `${HF}/black-forest-labs/FLUX.1-schnell/resolve/main/flux1-schnell.safetensors`,
    description: 'The 12B FLUX transformer, 1–4 steps. Load with UNETLoader; weight_dtype fp8 uses 8-bit weights on the CPU.',
  },
  {
    id: 'flux-ae',
    name: 'FLUX autoencoder (ae)',
    folder: 'vae',
    filename: 'ae.safetensors',
    url: `${HF}/black-forest-labs/FLUX.1-schnell/resolve/main/ae.safetensors`,
    description: '16-channel VAE used by every FLUX.1 model.',
  },
  {
    id: 't5xxl-fp16',
    name: 'T5-XXL v1.1 text encoder (fp16)',
    folder: 'text_encoders',
    filename: 't5xxl_fp16.safetensors',
    url: `${HF}/comfyanonymous/flux_text_encoders/resolve/main/t5xxl_fp16.safetensors`,
    description: 'FLUX / SD3 text encoder, used with CLIP-L through DualCLIPLoader (type flux).',
  },
  {
    id: 't5-tokenizer',
    name: 'T5 v1.1 tokenizer (SentencePiece)',
    folder: 'tokenizers',
    filename: 't5/spiece.model',
    url: `${HF}/google/t5-v1_1-xxl/resolve/main/spiece.model`,
    description: 'The vocabulary the T5 text encoder needs (FLUX). Weft reads it from models/tokenizers/t5/.',
  },
];
