/**
 * Architecture detection from tensor names and shapes, following ComfyUI's model_detection rules
 * (research/comfyui.md §7.2). Every width is read from a tensor shape; the only values shapes cannot
 * give (attention head counts, FLUX rope axes) come from the family's known constant, or from a
 * JSON config in the file's metadata (`weft_config`, or the conformance generator's `oracle_config`)
 * so that tiny test checkpoints with non-standard head sizes build correctly.
 * The result is what the graph builders consume: field names are the contract.
 */
import { WeftError } from '../../errors.ts';
import { detectEsrgan, detectFlux, detectLora, detectVae } from './components.ts';
import { detectClipL, detectT5, textEncodersOf } from './text.ts';
import type { DetectedModel, Family, ModelKind, TensorSource, TextEncoderConfig } from './types.ts';
import { classifyUNet, detectUNet, sd2Prediction, unetPrefix } from './unet.ts';
import { dominantDtype, metaConfig, need } from './util.ts';

export type * from './types.ts';
export { detectUNet, sd2Prediction } from './unet.ts';
export { detectVae } from './components.ts';

/** Detects what a model file is and reads every dimension the graph builders need. */
export function detectModel(src: TensorSource): DetectedModel {
  const t = src.tensors;
  const cfg = metaConfig(src);
  const notes: string[] = [];
  const base = { path: src.path, dtype: dominantDtype(t), textEncoders: [] as TextEncoderConfig[], notes };
  const fluxPrefix = ['model.diffusion_model.', ''].find((p) => t.has(`${p}double_blocks.0.img_attn.norm.key_norm.scale`) && t.has(`${p}img_in.weight`));
  if (fluxPrefix !== undefined) {
    const flux = detectFlux(src, fluxPrefix, cfg);
    const variant = flux.inChannels === 96 ? 'fill' : flux.guidanceEmbed ? 'dev' : 'schnell';
    notes.push(`double_blocks + img_in → FLUX; guidance_in ${flux.guidanceEmbed ? 'present → dev' : 'absent → schnell'}`);
    const kind: ModelKind = t.has('first_stage_model.decoder.conv_in.weight') || t.has('vae.decoder.conv_in.weight') ? 'checkpoint' : 'diffusion_model';
    return { ...base, kind, family: 'flux', prediction: 'flow', variant, flux };
  }
  const prefix = unetPrefix(t);
  if (prefix !== null && t.has(`${prefix}input_blocks.0.0.weight`)) {
    const unet = detectUNet(src, prefix, cfg);
    let family = classifyUNet(unet, notes);
    const prediction = family === 'sd2' ? sd2Prediction(src, unet, notes) : 'eps';
    const textEncoders = textEncodersOf(src, cfg);
    const vaePrefix = t.has('first_stage_model.decoder.conv_in.weight') ? 'first_stage_model.' : null;
    const out: DetectedModel = {
      ...base, kind: vaePrefix || textEncoders.length ? 'checkpoint' : 'diffusion_model', family, prediction, unet, textEncoders,
      ...(unet.inChannels > 4 && family !== 'sdxl_refiner' ? { variant: 'inpaint' as const } : {}),
    };
    if (vaePrefix) out.vae = detectVae(src, vaePrefix, family);
    return out;
  }
  if (t.has('control_model.input_blocks.0.0.weight')) {
    const unet = detectUNet(src, 'control_model.', cfg);
    const family = classifyUNet(unet, notes);
    return { ...base, kind: 'controlnet', family, prediction: null, controlnet: { unet, hintChannels: need(src, 'control_model.input_hint_block.0.weight')[1]! } };
  }
  const lora = detectLora(t);
  if (lora) {
    const family: Family = lora.targets.te1 || lora.targets.te2 ? 'sdxl' : 'unknown';
    return { ...base, kind: 'lora', family, prediction: null, lora };
  }
  const upscaler = detectEsrgan(src);
  if (upscaler) return { ...base, kind: 'upscaler', family: 'unknown', prediction: null, upscaler };
  for (const p of ['', 'first_stage_model.', 'vae.']) {
    if (t.has(`${p}decoder.conv_in.weight`)) {
      const latent = need(src, `${p}decoder.conv_in.weight`)[1]!;
      const family: Family = latent === 16 ? 'flux' : 'unknown';
      notes.push(`VAE alone, ${latent} latent channels${family === 'flux' ? ' → FLUX AE' : ' (SD1/SD2/SDXL share the layout; the scale comes from the model it is used with)'}`);
      return { ...base, kind: 'vae', family, prediction: null, vae: detectVae(src, p, family) };
    }
  }
  if (t.has('encoder.block.0.layer.0.SelfAttention.q.weight')) return { ...base, kind: 'text_encoder', family: 'flux', prediction: null, t5: detectT5(src, '') };
  if (t.has('vision_model.embeddings.patch_embedding.weight') && !t.has('text_model.embeddings.token_embedding.weight')) {
    return { ...base, kind: 'clip_vision', family: 'unknown', prediction: null };
  }
  for (const p of ['', 'transformer.', 'cond_stage_model.transformer.']) {
    if (t.has(`${p}text_model.embeddings.token_embedding.weight`)) {
      const role = t.has(`${p}text_model.encoder.layers.0.mlp.fc1.weight`) && need(src, `${p}text_model.embeddings.token_embedding.weight`)[1]! >= 1280 ? 'g' : 'l';
      return { ...base, kind: 'text_encoder', family: 'unknown', prediction: null, textEncoders: [detectClipL(src, p, role, undefined)] };
    }
  }
  if (t.has('image_proj.proj.weight') || t.has('image_proj.latents')) return { ...base, kind: 'ipadapter', family: 'unknown', prediction: null };
  if (t.has('emb_params') || t.has('string_to_param.*') || t.has('clip_l') || t.has('clip_g')) return { ...base, kind: 'embedding', family: t.has('clip_g') ? 'sdxl' : 'unknown', prediction: null };
  const hint = /lora/i.test(src.path) ? ' (the name says LoRA: load it with a LoRA loader)' : '';
  throw new WeftError(`Could not detect model type of: ${src.path}${hint}`, { file: src.path, type: 'unknown_model_type' });
}
