/**
 * ComfyUI VAEDecode / VAEEncode around the VAE graphs. Latents are unscaled here (the sampler applies the
 * 0.18215 / 0.13025 factor); images are NHWC in [0,1].
 */
import type * as ort from 'onnxruntime-node';
import { WeftError } from '../../errors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { createSession, runFloat, type SessionOptions } from '../../onnx/index.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { buildVaeDecoder, buildVaeEncoder, vaeSpec, type VaeSpec } from './graph.ts';

/** Latent scale factors (process_in multiplies, process_out divides). */
export const LATENT_SCALE = { sd1: 0.18215, sd2: 0.18215, sdxl: 0.13025 } as const;

export class Vae {
  private decoder?: Promise<ort.InferenceSession>;
  private encoder?: Promise<ort.InferenceSession>;

  constructor(readonly file: WeightSource, readonly spec: VaeSpec, private readonly sessionOpts: SessionOptions = {}) {}

  static open(file: WeightSource, prefix?: string, sessionOpts: SessionOptions = {}): Vae {
    return new Vae(file, vaeSpec(file, prefix), sessionOpts);
  }

  private dec(): Promise<ort.InferenceSession> {
    if (!this.decoder) {
      const { bytes, weightsDir } = buildVaeDecoder(this.file, this.spec).build();
      this.decoder = createSession(bytes, weightsDir, { label: `VAE decoder (${this.file.path})`, ...this.sessionOpts });
    }
    return this.decoder;
  }

  private enc(): Promise<ort.InferenceSession> {
    if (!this.encoder) {
      const { bytes, weightsDir } = buildVaeEncoder(this.file, this.spec).build();
      this.encoder = createSession(bytes, weightsDir, { label: `VAE encoder (${this.file.path})`, ...this.sessionOpts });
    }
    return this.encoder;
  }

  /** latent NCHW → { image NHWC [0,1], decoded NCHW raw }. */
  async decode(latent: Tensor): Promise<{ image: Tensor; decoded: Tensor }> {
    if (latent.shape.length !== 4 || latent.shape[1] !== this.spec.latentChannels) {
      throw new WeftError(`VAE decode: latent shape [${latent.shape.join(', ')}] does not fit this VAE (${this.spec.latentChannels} channels)`, { file: this.file.path });
    }
    const r = await runFloat(await this.dec(), { latent: { data: latent.data, dims: latent.shape } });
    return { image: { shape: r.image!.dims, data: r.image!.data }, decoded: { shape: r.decoded!.dims, data: r.decoded!.data } };
  }

  /** image NHWC [0,1] (alpha dropped, centre-cropped to a multiple of 8 like VAEEncode) → posterior mean and logvar. */
  async encode(image: Tensor): Promise<{ mean: Tensor; logvar: Tensor }> {
    const px = cropForEncode(image);
    const r = await runFloat(await this.enc(), { image: { data: px.data, dims: px.shape } });
    return { mean: { shape: r.mean!.dims, data: r.mean!.data }, logvar: { shape: r.logvar!.dims, data: r.logvar!.data } };
  }

  async release(): Promise<void> {
    for (const s of [this.decoder, this.encoder]) if (s) await (await s).release();
    this.decoder = this.encoder = undefined;
  }
}

/** ComfyUI VAEEncode: drop channels past RGB, crop H and W down to multiples of 8 around the centre. */
export function cropForEncode(image: Tensor): Tensor {
  const [B, H, W, C] = image.shape as [number, number, number, number];
  if (image.shape.length !== 4 || C < 3) throw new WeftError(`VAE encode: image shape [${image.shape.join(', ')}] is not NHWC with ≥ 3 channels`);
  const h = Math.floor(H / 8) * 8, w = Math.floor(W / 8) * 8;
  if (h === 0 || w === 0) throw new WeftError(`VAE encode: image ${W}×${H} is smaller than 8×8`);
  if (h === H && w === W && C === 3) return image;
  const oy = Math.floor((H % 8) / 2), ox = Math.floor((W % 8) / 2);
  const out = new Float32Array(B * h * w * 3);
  for (let b = 0; b < B; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    out[((b * h + y) * w + x) * 3 + c] = image.data[((b * H + y + oy) * W + x + ox) * C + c]!;
  }
  return { shape: [B, h, w, 3], data: out };
}

/** What VAEEncode returns: a posterior sample mean + exp(0.5·logvar)·noise (noise from the torch RNG). */
export function samplePosterior(mean: Tensor, logvar: Tensor, noise: Float32Array): Tensor {
  const f = Math.fround;
  const out = new Float32Array(mean.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(mean.data[i]! + f(f(Math.exp(f(0.5 * logvar.data[i]!))) * noise[i]!));
  return { shape: [...mean.shape], data: out };
}
