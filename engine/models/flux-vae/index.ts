/**
 * The FLUX autoencoder ("ae.safetensors"): the SD KL-VAE architecture with 16 latent channels and no
 * quant_conv / post_quant_conv, so the SD VAE graph builders are reused as they are (vaeSpec reads the
 * channel count from decoder.conv_in and sees the absent quant convs). What is FLUX-specific is the latent
 * format ComfyUI applies around sampling: process_in (x − 0.1159)·0.3611, process_out x/0.3611 + 0.1159.
 * VAEDecode / VAEEncode do not apply it (the sampler does), exactly as for SD.
 */
import { WeftError } from '../../errors.ts';
import type { SafetensorsFile } from '../../io/safetensors.ts';
import type { SessionOptions } from '../../onnx/index.ts';
import { LATENT_FORMATS } from '../../sampling/ksample.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { vaeSpec } from '../vae/graph.ts';
import { Vae } from '../vae/vae.ts';

export const FLUX_LATENT_CHANNELS = 16;
/** ComfyUI latent_formats.Flux. */
export const FLUX_LATENT_FORMAT = LATENT_FORMATS.flux;

const f = Math.fround;

/** process_in (float32 at each step, as torch does): (x − shift)·scale. */
export function fluxProcessIn(latent: Tensor): Tensor {
  const { scale, shift } = FLUX_LATENT_FORMAT;
  const s = f(scale), sh = f(shift);
  const out = new Float32Array(latent.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(f(latent.data[i]! - sh) * s);
  return { shape: [...latent.shape], data: out };
}

/** process_out: x/scale + shift. */
export function fluxProcessOut(latent: Tensor): Tensor {
  const { scale, shift } = FLUX_LATENT_FORMAT;
  const s = f(scale), sh = f(shift);
  const out = new Float32Array(latent.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(f(latent.data[i]! / s) + sh);
  return { shape: [...latent.shape], data: out };
}

/**
 * The sampler's entry rule: ComfyUI leaves an all-zero latent (EmptyLatentImage / EmptySD3LatentImage)
 * untouched instead of mapping it to −shift·scale, so txt2img starts from pure noise.
 */
export function fluxLatentForSampling(latent: Tensor): Tensor {
  for (let i = 0; i < latent.data.length; i++) if (latent.data[i] !== 0) return fluxProcessIn(latent);
  return latent;
}

/**
 * Opens a FLUX AE (standalone `ae.safetensors` layout, or under `vae.` / `first_stage_model.` in a
 * single-file checkpoint) and checks it really is the 16-channel AE, naming the file when not.
 */
export function openFluxAe(file: SafetensorsFile, sessionOpts: SessionOptions = {}): Vae {
  const prefix = file.has('decoder.conv_in.weight') ? '' : file.has('vae.decoder.conv_in.weight') ? 'vae' : file.has('first_stage_model.decoder.conv_in.weight') ? 'first_stage_model' : null;
  if (prefix === null) throw new WeftError(`${file.path}: no FLUX autoencoder found (expected decoder.conv_in.weight, optionally under vae. or first_stage_model.)`, { file: file.path, type: 'model_load_error' });
  const spec = vaeSpec(file, prefix);
  if (spec.latentChannels !== FLUX_LATENT_CHANNELS) {
    throw new WeftError(`${file.path}: the autoencoder has ${spec.latentChannels} latent channels; the FLUX AE has ${FLUX_LATENT_CHANNELS} (is this an SD VAE?)`, { file: file.path, input: 'decoder.conv_in.weight', type: 'model_load_error' });
  }
  return new Vae(file, spec, sessionOpts);
}
