/**
 * Cheap latent → RGB previews (ComfyUI's Latent2RGB): a per-family linear map of the latent channels,
 * then (v + 1)/2 to bytes. Used for progress images; no VAE call.
 */
import type { Tensor } from '../tensor/tensor.ts';

export type PreviewFamily = 'sd1' | 'sdxl' | 'flux';

const FACTORS: Record<PreviewFamily, { rgb: number[][]; bias: number[] }> = {
  sd1: { rgb: [[0.3512, 0.2297, 0.3227], [0.325, 0.4974, 0.235], [-0.2829, 0.1762, 0.2721], [-0.212, -0.2616, -0.7177]], bias: [0, 0, 0] },
  sdxl: { rgb: [[0.3651, 0.4232, 0.4341], [-0.2533, -0.0042, 0.1068], [0.1076, 0.1111, -0.0362], [-0.3165, -0.2492, -0.2188]], bias: [0.1084, -0.0175, -0.0011] },
  flux: {
    rgb: [
      [-0.0404, 0.0159, 0.0609], [0.0043, 0.0298, 0.085], [0.0328, -0.0749, -0.0503], [-0.0245, 0.0085, 0.0549],
      [0.0966, 0.0894, 0.053], [0.0035, 0.0399, 0.0123], [0.0583, 0.1184, 0.1262], [-0.0191, -0.0206, -0.0306],
      [-0.0324, 0.0055, 0.1001], [0.0955, 0.0659, -0.0545], [-0.0504, 0.0231, -0.0013], [0.05, -0.0008, -0.0088],
      [0.0982, 0.0941, 0.0976], [-0.1233, -0.028, -0.0897], [-0.0005, -0.053, -0.002], [-0.1273, -0.144, -0.1304],
    ],
    bias: [-0.034, -0.0058, -0.0112],
  },
};

/** RGB bytes (row-major, 3 per pixel) of batch item `index` of a [B, C, H, W] latent in sampling space. */
export function latentPreview(latent: Tensor, family: PreviewFamily, index = 0): { width: number; height: number; rgb: Uint8Array } {
  const [, C, H, W] = latent.shape as [number, number, number, number];
  const f = FACTORS[family];
  if (f.rgb.length !== C) throw new Error(`${family} preview expects ${f.rgb.length} latent channels, got ${C}`);
  const rgb = new Uint8Array(H * W * 3);
  const base = index * C * H * W;
  for (let p = 0; p < H * W; p++) {
    for (let k = 0; k < 3; k++) {
      let v = f.bias[k]!;
      for (let c = 0; c < C; c++) v += latent.data[base + c * H * W + p]! * f.rgb[c]![k]!;
      rgb[p * 3 + k] = Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255);
    }
  }
  return { width: W, height: H, rgb };
}
