/**
 * Model files → socket values: a single-file checkpoint gives {model, clip, vae} (ComfyUI's
 * load_checkpoint_guess_config), a bare diffusion model gives a MODEL (UNETLoader), a VAE file a VAE.
 * Everything is detected from tensor names and shapes; PyTorch files are converted to safetensors once.
 * Nothing is loaded here: sessions start in the ModelService on first use.
 */
import { WeftError } from '../../errors.ts';
import type { Folders } from '../../graph/context.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { safetensorsPathFor } from '../../io/model-file.ts';
import { ClipModel } from '../clip/model.ts';
import { EmbeddingLibrary } from '../clip/embeddings.ts';
import { detectModel, type DetectedModel } from '../detect.ts';
import { headsFromDetected, headsFromMetadata } from '../unet/config.ts';
import { SdModel } from './model.ts';
import { SdVae } from './vae.ts';
import { fluxModelFromFile } from '../flux-sd/model.ts';
import { loadFluxCheckpoint } from '../flux-sd/load.ts';
import { isGgufFile } from '../../io/gguf.ts';
import { openGgufTable } from '../../io/gguf-float.ts';

export interface LoadedCheckpoint {
  model: SdModel;
  clip: ClipModel | null;
  vae: SdVae | null;
  detected: DetectedModel;
}

export interface CheckpointOptions {
  /** Where .ckpt/.pt files are converted. */
  cacheDir: string;
  /** For the embeddings folder of the CLIP. */
  folders?: Pick<Folders, 'listModels' | 'resolveModel'>;
  withClip?: boolean;
  withVae?: boolean;
  input?: string;
}

function detect(path: string, input: string): { file: string; detected: DetectedModel; metadata: Record<string, string> } {
  const f = isGgufFile(path) ? openGgufTable(path) : SafetensorsFile.open(path);
  try {
    const detected = detectModel(f);
    if (isGgufFile(path) && detected.family !== 'flux') {
      throw new WeftError(`${path}: GGUF files are read for FLUX diffusion models; this one holds ${detected.kind} (${detected.family})`, { type: 'model_load_error' });
    }
    return { file: path, detected, metadata: { ...f.metadata } };
  } catch (e) {
    if (e instanceof WeftError) throw new WeftError(e.message, { input, file: path, type: e.type });
    throw e;
  } finally {
    f.close();
  }
}

const SUPPORTED = new Set(['sd1', 'sd2', 'sdxl', 'sdxl_refiner']);

function modelFrom(file: string, d: DetectedModel, metadata: Record<string, string>, input: string): SdModel {
  // FLUX: the same MODEL class, family 'flux' (engine/models/flux-sd explains why).
  if (d.family === 'flux' && d.flux) return fluxModelFromFile(file, d, input);
  if (!d.unet || !SUPPORTED.has(d.family)) {
    const what = d.family === 'flux' ? 'FLUX models are not supported by this loader yet' : `no SD1/SD2/SDXL UNet found (detected ${d.kind}, family ${d.family})`;
    throw new WeftError(`${input}: ${file}: ${what}`, { input, file, type: 'model_load_error' });
  }
  const meta = headsFromMetadata(metadata);
  const heads = meta.numHeads || meta.headChannels ? meta : headsFromDetected(d.unet);
  return new SdModel({ source: { path: file, prefix: d.unet.prefix, heads }, family: d.family, detected: d });
}

export function loadCheckpoint(path: string, o: CheckpointOptions): LoadedCheckpoint {
  const input = o.input ?? 'ckpt_name';
  const { file, detected, metadata } = detect(safetensorsPathFor(path, o.cacheDir), input);
  if (detected.kind !== 'checkpoint') {
    const hint = detected.kind === 'diffusion_model' ? ' (a diffusion model alone: use UNETLoader / Load Diffusion Model)' : detected.kind === 'lora' ? ' (a LoRA: use LoraLoader)' : '';
    throw new WeftError(`${input}: ${path} is not a checkpoint${hint}`, { input, file: path, type: 'model_load_error' });
  }
  if (detected.family === 'flux' && detected.flux) {
    // All-in-one FLUX files: text encoders under text_encoders.clip_l / text_encoders.t5xxl, the AE under vae.
    return { ...loadFluxCheckpoint(file, detected, { folders: o.folders, input, withClip: o.withClip, withVae: o.withVae, embeddings: o.folders ? new EmbeddingLibrary(o.folders) : null }), detected };
  }
  const model = modelFrom(file, detected, metadata, input);
  const clip = o.withClip === false || detected.textEncoders.length === 0
    ? null
    : ClipModel.fromCheckpoint(file, o.folders ? { embeddings: new EmbeddingLibrary(o.folders) } : {});
  const vae = o.withVae === false || !detected.vae ? null : SdVae.open(file, 'first_stage_model');
  return { model, clip, vae, detected };
}

/** UNETLoader: a diffusion model alone (bare UNet keys, or a checkpoint whose UNet is wanted). */
export function loadDiffusionModel(path: string, o: CheckpointOptions): SdModel {
  const input = o.input ?? 'unet_name';
  const { file, detected, metadata } = detect(safetensorsPathFor(path, o.cacheDir), input);
  return modelFrom(file, detected, metadata, input);
}

/** VAELoader: a standalone VAE file, or the VAE inside a checkpoint. */
export function loadVae(path: string, o: CheckpointOptions): SdVae {
  const input = o.input ?? 'vae_name';
  const file = safetensorsPathFor(path, o.cacheDir);
  const { detected } = detect(file, input);
  if (!detected.vae) throw new WeftError(`${input}: ${path} has no VAE (detected ${detected.kind})`, { input, file: path, type: 'model_load_error' });
  // 16 channels: the FLUX AE (same architecture; its latent format is the FLUX MODEL's, applied by the sampler).
  if (detected.vae.latentChannels !== 4 && detected.vae.latentChannels !== 16) throw new WeftError(`${input}: ${path} is a ${detected.vae.latentChannels}-channel VAE; only 4-channel SD/SDXL VAEs and the 16-channel FLUX AE are supported here`, { input, file: path });
  return SdVae.open(file, detected.vae.prefix.replace(/\.$/, ''));
}
