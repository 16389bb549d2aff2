/**
 * Latent noise masks (SetLatentNoiseMask): the mask is resized bilinearly to the latent like ComfyUI's
 * prepare_mask, and every model call blends as KSamplerX0Inpaint does — masked-out cells are pinned to the
 * original latent re-noised to the current sigma, and their prediction to the original latent.
 */
import type { ModelSampling } from './model-sampling.ts';
import type { Denoiser } from './types.ts';

/** torch.nn.functional.interpolate(mode='bilinear', align_corners=False) for [B, h, w] planes. */
export function resizeBilinear(src: Float32Array, planes: number, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(planes * H * W);
  const sy = h / H;
  const sx = w / W;
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < H; i++) {
      const fy = Math.max(0, (i + 0.5) * sy - 0.5);
      const y0 = Math.min(Math.floor(fy), h - 1);
      const y1 = Math.min(y0 + 1, h - 1);
      const ly = fy - y0;
      for (let j = 0; j < W; j++) {
        const fx = Math.max(0, (j + 0.5) * sx - 0.5);
        const x0 = Math.min(Math.floor(fx), w - 1);
        const x1 = Math.min(x0 + 1, w - 1);
        const lx = fx - x0;
        const base = p * h * w;
        const top = src[base + y0 * w + x0]! * (1 - lx) + src[base + y0 * w + x1]! * lx;
        const bot = src[base + y1 * w + x0]! * (1 - lx) + src[base + y1 * w + x1]! * lx;
        out[(p * H + i) * W + j] = top * (1 - ly) + bot * ly;
      }
    }
  return out;
}

/** A mask of shape [b, (1,) h, w] → the latent's full shape [B, C, H, W] (batch repeated or cut). */
export function prepareMask(mask: Float32Array, maskShape: readonly number[], latentShape: readonly number[]): Float32Array {
  const [B, C, H, W] = latentShape as [number, number, number, number];
  const h = maskShape[maskShape.length - 2]!;
  const w = maskShape[maskShape.length - 1]!;
  const planes = mask.length / (h * w);
  const small = h === H && w === W ? mask : resizeBilinear(mask, planes, h, w, H, W);
  const out = new Float32Array(B * C * H * W);
  for (let b = 0; b < B; b++) {
    const plane = small.subarray((b % planes) * H * W, ((b % planes) + 1) * H * W);
    for (let c = 0; c < C; c++) out.set(plane, (b * C + c) * H * W);
  }
  return out;
}

export class InpaintDenoiser implements Denoiser {
  private readonly xin: Float32Array;
  private readonly renoised: Float32Array;
  constructor(
    private readonly inner: Denoiser,
    private readonly ms: ModelSampling,
    /** 1 = sample here, 0 = keep the original latent (full latent shape). */
    private readonly mask: Float32Array,
    private readonly latent: Float32Array,
    private readonly noise: Float32Array,
  ) {
    this.xin = new Float32Array(latent.length);
    this.renoised = new Float32Array(latent.length);
  }

  private blendIn(x: Float32Array, sigma: number): Float32Array {
    this.ms.noiseScaling(sigma, this.noise, this.latent, false, this.renoised);
    const m = this.mask;
    for (let i = 0; i < x.length; i++) this.xin[i] = x[i]! * m[i]! + this.renoised[i]! * (1 - m[i]!);
    return this.xin;
  }

  private blendOut(den: Float32Array): Float32Array {
    const m = this.mask;
    for (let i = 0; i < den.length; i++) den[i] = den[i]! * m[i]! + this.latent[i]! * (1 - m[i]!);
    return den;
  }

  async denoise(x: Float32Array, sigma: number): Promise<Float32Array> {
    return this.blendOut(await this.inner.denoise(this.blendIn(x, sigma), sigma));
  }

  async denoiseWithUncond(x: Float32Array, sigma: number): Promise<{ denoised: Float32Array; uncond: Float32Array }> {
    const xin = this.blendIn(x, sigma);
    const r = this.inner.denoiseWithUncond ? await this.inner.denoiseWithUncond(xin, sigma) : null;
    if (!r) {
      const d = this.blendOut(await this.inner.denoise(xin, sigma));
      return { denoised: d, uncond: d };
    }
    return { denoised: this.blendOut(r.denoised), uncond: this.blendOut(r.uncond === r.denoised ? r.uncond.slice() : r.uncond) };
  }
}
