/**
 * Pixel-side preparation of the two inpainting nodes (nodes.py VAEEncodeForInpaint, InpaintModelConditioning):
 * the mask is resized to the image, both are cropped to multiples of 8 around the centre, pixels under the
 * rounded mask are set to 0.5 grey before encoding, and VAEEncodeForInpaint grows the mask with a box filter.
 */
import { WeftError } from '../../errors.ts';
import type { Conditioning, Latent } from '../../graph/sockets.ts';
import { resizeBilinear } from '../../sampling/mask.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { ModelService } from '../../runtime/service.ts';
import type { SdVae } from './vae.ts';

/** Mask [B?, h, w] → [Bm, 1, H, W] at the image size, both cropped to multiples of 8. */
export function maskedPixels(pixels: Tensor, mask: Tensor): { pixels: Tensor; grey: Tensor; mask: Tensor } {
  if (pixels.shape.length !== 4 || pixels.shape[3]! < 3) throw new WeftError(`pixels: expected an IMAGE [B, H, W, C], got [${pixels.shape.join(', ')}]`, { input: 'pixels' });
  if (mask.shape.length < 2 || mask.shape.length > 4) throw new WeftError(`mask: expected a MASK [B, H, W], got [${mask.shape.join(', ')}]`, { input: 'mask' });
  const [B, H, W, C] = pixels.shape as [number, number, number, number];
  const [mh, mw] = mask.shape.slice(-2) as [number, number];
  const mb = mask.data.length / (mh * mw);
  const full = mh === H && mw === W ? mask.data : resizeBilinear(mask.data, mb, mh, mw, H, W);
  const h = Math.floor(H / 8) * 8, w = Math.floor(W / 8) * 8;
  if (h === 0 || w === 0) throw new WeftError(`pixels: image ${W}×${H} is smaller than 8×8`, { input: 'pixels' });
  const oy = Math.floor((H % 8) / 2), ox = Math.floor((W % 8) / 2);
  const m = new Float32Array(mb * h * w);
  for (let b = 0; b < mb; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m[(b * h + y) * w + x] = full[(b * H + y + oy) * W + x + ox]!;
  const px = new Float32Array(B * h * w * 3);
  const grey = new Float32Array(B * h * w * 3);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const keep = 1 - Math.round(m[((b % mb) * h + y) * w + x]!);
        for (let c = 0; c < 3; c++) {
          const v = pixels.data[((b * H + y + oy) * W + x + ox) * C + c]!;
          px[((b * h + y) * w + x) * 3 + c] = v;
          grey[((b * h + y) * w + x) * 3 + c] = (v - 0.5) * keep + 0.5;
        }
      }
  return { pixels: { shape: [B, h, w, 3], data: px }, grey: { shape: [B, h, w, 3], data: grey }, mask: { shape: [mb, 1, h, w], data: m } };
}

/** round(mask) convolved with a g×g box (padding ceil((g−1)/2)), clamped to [0, 1], cut back to size and rounded. */
export function growMaskBox(mask: Tensor, g: number): Tensor {
  if (g === 0) return { shape: mask.shape, data: mask.data.map(Math.round) };
  const [B, , H, W] = mask.shape as [number, number, number, number];
  const pad = Math.ceil((g - 1) / 2);
  const r = mask.data.map(Math.round);
  const out = new Float32Array(B * H * W);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let i = y - pad; i < y - pad + g; i++) {
          if (i < 0 || i >= H) continue;
          for (let j = x - pad; j < x - pad + g; j++) if (j >= 0 && j < W) s += r[(b * H + i) * W + j]!;
        }
        out[(b * H + y) * W + x] = Math.round(Math.min(1, Math.max(0, s)));
      }
  return { shape: [B, 1, H, W], data: out };
}

export async function encodeForInpaint(service: ModelService, vae: SdVae, pixels: Tensor, mask: Tensor, growBy: number): Promise<Latent> {
  const p = maskedPixels(pixels, mask);
  return { samples: await vae.encode(service, p.grey), noise_mask: growMaskBox(p.mask, growBy) };
}

function withValues(c: Conditioning, values: Record<string, unknown>, input: string): Conditioning {
  if (!Array.isArray(c)) throw new WeftError(`${input}: expected CONDITIONING`, { input });
  return c.map(([t, o]) => [t, { ...o, ...values }]);
}

export async function inpaintModelConditioning(
  service: ModelService, vae: SdVae, positive: Conditioning, negative: Conditioning, pixels: Tensor, mask: Tensor, noiseMask: boolean,
): Promise<{ positive: Conditioning; negative: Conditioning; latent: Latent }> {
  const p = maskedPixels(pixels, mask);
  const concat = await vae.encode(service, p.grey);
  const orig = await vae.encode(service, pixels);
  const values = { concat_latent_image: concat, concat_mask: p.mask };
  const latent: Latent = noiseMask ? { samples: orig, noise_mask: p.mask } : { samples: orig };
  return { positive: withValues(positive, values, 'positive'), negative: withValues(negative, values, 'negative'), latent };
}
