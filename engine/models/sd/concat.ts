/**
 * The extra input channels of inpainting UNets (ComfyUI model_base concat_cond for "mask" + "masked_image"):
 * a 1-channel mask and the 4-channel masked latent, from the conditioning's concat_mask /
 * concat_latent_image (InpaintModelConditioning) or else from the latent's own noise mask and latent
 * (VAEEncodeForInpaint). Without a mask the model sees "all masked" over a blank latent.
 */
import { WeftError } from '../../errors.ts';
import { prepareMask } from '../../sampling/mask.ts';
import { isTensor, type Tensor } from '../../tensor/tensor.ts';
import { commonUpscale } from '../../tensor/upscale.ts';
import type { SdModel } from './model.ts';

export interface ConcatSource {
  /** The latent being sampled after process_in, [B, C, H, W]. */
  latentIn: Float32Array;
  /** The LATENT's noise_mask (any resolution), when it has one. */
  noiseMask?: Tensor;
}

/** "Zero" pixels (black) as SD1 latent values: what the model sees where nothing is known. */
const BLANK = [0.8223, -0.6876, 0.6364, 0.138];

/** Row b of a [n, C, H, W] tensor for a batch of B, repeating when n < B as resize_to_batch_size does. */
function row(t: Float32Array, n: number, per: number, b: number): Float32Array {
  return t.subarray((b % n) * per, (b % n + 1) * per);
}

function toLatentSize(t: Tensor, H: number, W: number): Tensor {
  return t.shape[2] === H && t.shape[3] === W ? t : commonUpscale(t, W, H, 'bilinear', 'center');
}

export function concatFor(model: SdModel, opts: Record<string, unknown>, latentShape: readonly number[], src: ConcatSource | undefined, input: string): Tensor {
  const [B, C, H, W] = latentShape as [number, number, number, number];
  const extra = model.inChannels - C;
  if (extra !== C + 1) throw new WeftError(`the model takes ${model.inChannels} input channels; only mask + masked-latent inpaint models (${2 * C + 1}) are supported`, { input });
  const plane = H * W;

  let mask: Float32Array | null = null;
  let maskRows = 1;
  if (isTensor(opts.concat_mask)) {
    const m = opts.concat_mask;
    const [h, w] = m.shape.slice(-2) as [number, number];
    maskRows = m.data.length / (h * w);
    mask = toLatentSize({ shape: [maskRows, 1, h, w], data: m.data }, H, W).data.map(Math.round);
  } else if (src?.noiseMask) {
    const full = prepareMask(src.noiseMask.data, src.noiseMask.shape, latentShape);
    mask = new Float32Array(B * plane);
    for (let b = 0; b < B; b++) for (let p = 0; p < plane; p++) mask[b * plane + p] = Math.round(full[b * C * plane + p]!);
    maskRows = B;
  }

  let image: Float32Array | null = null;
  let imageRows = B;
  if (isTensor(opts.concat_latent_image)) {
    const t = opts.concat_latent_image;
    if (t.shape.length !== 4 || t.shape[1] !== C) throw new WeftError(`${input}: concat_latent_image must be a [B, ${C}, H, W] latent`, { input });
    const fmt = model.latentFormat;
    const scaled: Tensor = { shape: t.shape, data: t.data.map((v) => (v - (fmt.shift ?? 0)) * fmt.scale) };
    image = toLatentSize(scaled, H, W).data;
    imageRows = t.shape[0]!;
  } else if (src) {
    image = src.latentIn;
  }

  const out = new Float32Array(B * (C + 1) * plane);
  for (let b = 0; b < B; b++) {
    const base = b * (C + 1) * plane;
    if (mask && image) {
      out.set(row(mask, maskRows, plane, b), base);
      out.set(row(image, imageRows, C * plane, b), base + plane);
    } else {
      out.fill(1, base, base + plane);
      for (let c = 0; c < C; c++) out.fill(BLANK[c] ?? 0, base + (c + 1) * plane, base + (c + 2) * plane);
    }
  }
  return { shape: [B, C + 1, H, W], data: out };
}
