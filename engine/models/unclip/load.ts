/**
 * unCLIPCheckpointLoader: an SD2.1 unCLIP checkpoint (ComfyUI's SD21UnclipL / SD21UnclipH) gives MODEL, CLIP,
 * VAE and the CLIP vision tower stored beside them (`embedder.model.visual.*`, OpenCLIP layout).
 *
 * Its UNet is SD2's (linear proj, OpenCLIP-H text context) plus `label_emb` taking [noised image embedding,
 * noise-level embedding], so adm_in_channels = 2 × the embedding width (1536 for -L, 2048 for -H): the
 * augmentor's width is read from there. The shared checkpoint loader does not know this family yet (models/
 * detect classifies a label_emb UNet with attention at level 0 as "unknown"), so the MODEL is assembled here
 * from the same parts, with the augmentor kept in `model.options.unclip` for the conditioning code.
 */
import { WeftError } from '../../errors.ts';
import type { Folders } from '../../graph/context.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { safetensorsPathFor } from '../../io/model-file.ts';
import type { ModelService } from '../../runtime/service.ts';
import { ClipModel } from '../clip/model.ts';
import { EmbeddingLibrary } from '../clip/embeddings.ts';
import { ClipVisionModel } from '../clip-vision/model.ts';
import { findVisionTower } from '../clip-vision/spec.ts';
import { detectModel, sd2Prediction } from '../detect/index.ts';
import { headsFromDetected, headsFromMetadata } from '../unet/config.ts';
import { SdModel } from '../sd/model.ts';
import { SdVae } from '../sd/vae.ts';
import { ClipNoiseAugmentor } from './adm.ts';

export interface LoadedUnclip {
  model: SdModel;
  clip: ClipModel | null;
  vae: SdVae | null;
  clipVision: ClipVisionModel | null;
}

export interface UnclipLoadOptions {
  cacheDir: string;
  folders?: Pick<Folders, 'listModels' | 'resolveModel'>;
  models?: ModelService;
  input?: string;
}

/** The noise augmentor of an unCLIP MODEL (undefined for every other model). */
export function unclipAugmentorOf(model: SdModel): ClipNoiseAugmentor | undefined {
  const a = model.options.unclip;
  return a instanceof ClipNoiseAugmentor ? a : undefined;
}

export function loadUnclipCheckpoint(path: string, o: UnclipLoadOptions): LoadedUnclip {
  const input = o.input ?? 'ckpt_name';
  const file = safetensorsPathFor(path, o.cacheDir);
  const f = SafetensorsFile.open(file);
  try {
    const fail = (why: string): never => { throw new WeftError(`${input}: ${path} is not an unCLIP checkpoint: ${why}`, { input, file: path, type: 'model_load_error' }); };
    const d = detectModel(f);
    const u = d.unet;
    if (d.kind !== 'checkpoint' || !u) fail(`detected ${d.kind}, expected a checkpoint with a UNet`);
    if (!u!.useLinearInTransformer || !u!.admInChannels || u!.admInChannels % 2 !== 0) fail('its UNet has no SD2-style label_emb taking [image embedding, noise level]');
    const notes: string[] = [];
    const detected = { ...d, family: 'sd2' as const, prediction: sd2Prediction(f, u!, notes), notes: [...(d.notes ?? []), 'unCLIP: label_emb = 2 × image embedding width', ...notes] };
    const meta = headsFromMetadata(f.metadata);
    const heads = meta.numHeads || meta.headChannels ? meta : headsFromDetected(u!);
    const model = new SdModel({ source: { path: file, prefix: u!.prefix, heads }, family: 'sd2', detected });
    model.options.unclip = new ClipNoiseAugmentor(u!.admInChannels! / 2);
    const clip = d.textEncoders.length === 0 ? null : ClipModel.fromCheckpoint(file, o.folders ? { embeddings: new EmbeddingLibrary(o.folders) } : {});
    const vae = d.vae ? SdVae.open(file, 'first_stage_model') : null;
    const clipVision = findVisionTower(f) ? ClipVisionModel.open(file, { models: o.models }) : null;
    return { model, clip, vae, clipVision };
  } finally {
    f.close();
  }
}
