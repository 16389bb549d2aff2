/**
 * The VAE socket value: a KL autoencoder inside a checkpoint or a standalone file, run as two sessions
 * (decoder, encoder) in the ModelService. Latents are unscaled (the sampler applies the model's factor);
 * images are NHWC in [0, 1]. Encoding returns the posterior mean: ComfyUI v0.0.4 drew a sample from the
 * global torch RNG, whose state a workflow cannot reproduce, and the spread is ~1e-3 on trained VAEs.
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { asBuilderFile } from '../lora/bridge.ts';
import type { ModelHandle, ModelService } from '../../runtime/service.ts';
import { buildVariant, gpuGraphs, once, type GraphVariant } from '../../runtime/variants.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { buildVaeDecoder, buildVaeEncoder, vaeSpec, type VaeSpec } from '../vae/graph.ts';
import { cropForEncode } from '../vae/vae.ts';
import { tiledAverage } from './tiles.ts';

declare module '../../graph/sockets.ts' {
  interface SocketValues {
    VAE: SdVae;
  }
}


const handles = new WeakMap<ModelService, Map<string, Promise<ModelHandle>>>();

export class SdVae {
  /** Pixels per latent cell: one 2× step between consecutive levels (8 for every released SD VAE). */
  readonly downscale: number;

  private constructor(readonly path: string, readonly spec: VaeSpec, private readonly openWeights: () => WeightSource & { close(): void } = () => SafetensorsFile.open(path)) {
    this.downscale = 2 ** Math.max(0, spec.levels - 1);
  }

  /** `prefix`: 'first_stage_model' inside a checkpoint, '' for a VAE file; detected when absent. */
  static open(path: string, prefix?: string): SdVae {
    const f = SafetensorsFile.open(path);
    try {
      return new SdVae(path, vaeSpec(f, prefix));
    } finally {
      f.close();
    }
  }

  /** A VAE whose weights come from a source (a diffusers VAE read under LDM names); `open` is called per build. */
  static fromSource(open: () => WeightSource & { close(): void }, prefix: string): SdVae {
    const f = open();
    try {
      return new SdVae(f.path, vaeSpec(asBuilderFile(f), prefix), open);
    } finally {
      f.close();
    }
  }

  get latentChannels(): number {
    return this.spec.latentChannels;
  }

  private session(service: ModelService, which: 'decoder' | 'encoder'): Promise<ModelHandle> {
    let byKey = handles.get(service);
    if (!byKey) handles.set(service, (byKey = new Map()));
    const key = `vae-${which}|${this.path}|${this.spec.prefix}`;
    let h = byKey.get(key);
    if (!h) {
      // The service builds the variant of the provider it tries: fp32 CPU graph, or fp16 GPU graph.
      const build = (variant: GraphVariant) => buildVariant(variant, (ep) => {
        const f = this.openWeights();
        try {
          return (which === 'decoder' ? buildVaeDecoder(asBuilderFile(f), this.spec, { ep }) : buildVaeEncoder(asBuilderFile(f), this.spec, { ep })).build();
        } finally {
          f.close();
        }
      });
      h = service.load(key, { graph: once(() => build('cpu')), graphByEp: gpuGraphs(() => build('gpu')) });
      h.catch(() => byKey!.delete(key));
      byKey.set(key, h);
    }
    return h;
  }

  private checkLatent(latent: Tensor): void {
    if (latent.shape.length !== 4 || latent.shape[1] !== this.spec.latentChannels) {
      throw new WeftError(`samples: latent [${latent.shape.join(', ')}] does not fit this VAE (${this.spec.latentChannels} channels); it belongs to another model family`, { input: 'samples' });
    }
  }

  private async decodeRaw(service: ModelService, latent: Tensor): Promise<{ image: Tensor; decoded: Tensor }> {
    const r = await (await this.session(service, 'decoder')).run({ latent: { type: 'float32', dims: [...latent.shape], data: latent.data } });
    return { image: { shape: r.image!.dims, data: r.image!.data as Float32Array }, decoded: { shape: r.decoded!.dims, data: r.decoded!.data as Float32Array } };
  }

  /** VAEDecode: LATENT samples → IMAGE. */
  async decode(service: ModelService, latent: Tensor): Promise<Tensor> {
    this.checkLatent(latent);
    return (await this.decodeRaw(service, latent)).image;
  }

  /** VAEDecodeTiled: tiles in latent cells; the three-tiling average of the raw output, then to [0, 1]. */
  async decodeTiled(service: ModelService, latent: Tensor, tile: number, overlap: number, signal?: AbortSignal): Promise<Tensor> {
    this.checkLatent(latent);
    const raw = await tiledAverage(latent, async (t) => (await this.decodeRaw(service, t)).decoded, tile, tile, overlap, this.downscale, 3, signal);
    return nchwToImage(raw);
  }

  private async encodeRaw(service: ModelService, image: Tensor): Promise<Tensor> {
    const r = await (await this.session(service, 'encoder')).run({ image: { type: 'float32', dims: [...image.shape], data: image.data } });
    return { shape: r.mean!.dims, data: r.mean!.data as Float32Array };
  }

  /** VAEEncode: IMAGE (cropped to multiples of 8 around the centre, alpha dropped) → LATENT samples. */
  async encode(service: ModelService, image: Tensor): Promise<Tensor> {
    return this.encodeRaw(service, cropForEncode(image));
  }

  /** VAEEncodeTiled: tiles in pixels. */
  async encodeTiled(service: ModelService, image: Tensor, tile: number, overlap: number, signal?: AbortSignal): Promise<Tensor> {
    const px = imageToNchw(cropForEncode(image));
    return tiledAverage(px, (t) => this.encodeRaw(service, nchwToNhwc(t)), tile, tile, overlap, 1 / this.downscale, this.spec.latentChannels, signal);
  }
}

function nchwToNhwc(t: Tensor): Tensor {
  const [B, C, H, W] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) out[(b * H * W + p) * C + c] = t.data[(b * C + c) * H * W + p]!;
  return { shape: [B, H, W, C], data: out };
}

function imageToNchw(t: Tensor): Tensor {
  const [B, H, W, C] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) out[(b * C + c) * H * W + p] = t.data[(b * H * W + p) * C + c]!;
  return { shape: [B, C, H, W], data: out };
}

/** Raw decoder output (≈[-1, 1], NCHW) → IMAGE: clamp((x + 1) / 2), NHWC. */
function nchwToImage(t: Tensor): Tensor {
  const img = nchwToNhwc(t);
  return { shape: img.shape, data: img.data.map((v) => Math.min(1, Math.max(0, (v + 1) / 2))) };
}

export function isSdVae(v: unknown): v is SdVae {
  return v instanceof SdVae;
}

export function asSdVae(v: unknown, input = 'vae'): SdVae {
  if (!(v instanceof SdVae)) throw new WeftError(`${input}: expected a VAE from a checkpoint or VAE loader`, { input });
  return v;
}
