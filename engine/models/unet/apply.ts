/**
 * apply_model around a raw UNet call, as ComfyUI's BaseModel does it for discrete-time SD models:
 * x·c_in into the network at the discrete timestep of σ, raw output (eps or v) → denoised.
 * The sigma table and parameterisation math are the sampling engineer's ModelSampling; this file only
 * wires a batch with one σ per row through it.
 */
import type { ModelSampling } from '../../sampling/model-sampling.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { UNetRunInputs } from './load.ts';

/** What applyModel needs of a UNet: UNetSession satisfies it. */
export interface RawUNet {
  run(inputs: UNetRunInputs): Promise<Tensor>;
}

function rowSize(len: number, rows: number, what: string): number {
  if (rows <= 0 || len % rows !== 0) throw new Error(`${what}: ${len} values do not split into ${rows} batch rows`);
  return len / rows;
}

/** x·c_in with one σ per batch row; divides by sqrt(σ²+σ_data²) in float32 as torch does. */
export function scaleInput(ms: ModelSampling, x: Float32Array, sigmas: ArrayLike<number>): Float32Array {
  const n = rowSize(x.length, sigmas.length, 'scaleInput');
  const out = new Float32Array(x.length);
  for (let b = 0; b < sigmas.length; b++) {
    const d = Math.fround(1 / ms.inputScale(sigmas[b]!));
    for (let i = b * n; i < (b + 1) * n; i++) out[i] = x[i]! / d;
  }
  return out;
}

/** denoised per batch row from the raw network output. */
export function denoiseBatch(ms: ModelSampling, x: Float32Array, raw: Float32Array, sigmas: ArrayLike<number>): Float32Array {
  if (raw.length !== x.length) throw new Error(`denoise: network output has ${raw.length} values, x has ${x.length}`);
  const n = rowSize(x.length, sigmas.length, 'denoise');
  const out = new Float32Array(x.length);
  for (let b = 0; b < sigmas.length; b++) {
    const lo = b * n;
    ms.denoised(sigmas[b]!, x.subarray(lo, lo + n), raw.subarray(lo, lo + n), out.subarray(lo, lo + n));
  }
  return out;
}

/**
 * BaseModel.apply_model for a UNet: scale, map σ → timestep, run, denoise. `concat` (inpainting models:
 * mask + masked latent, [B, Cc, H, W]) joins on the channel axis after scaling, unscaled, as ComfyUI does
 * with c_concat. `control` residuals and `y` pass through to the network unchanged.
 */
export async function applyModel(
  ms: ModelSampling, unet: RawUNet, x: Tensor, sigmas: ArrayLike<number>, context: Tensor,
  extra: { y?: Tensor; concat?: Tensor; control?: Tensor[] } = {},
): Promise<{ denoised: Float32Array; raw: Float32Array; timesteps: Float32Array }> {
  const timesteps = Float32Array.from(Array.from(sigmas, (s) => ms.timestep(s)));
  let input: Tensor = { shape: x.shape, data: scaleInput(ms, x.data, sigmas) };
  if (extra.concat) input = concatChannels(input, extra.concat);
  const raw = await unet.run({ x: input, timesteps, context, y: extra.y, control: extra.control });
  return { denoised: denoiseBatch(ms, x.data, raw.data, sigmas), raw: raw.data, timesteps };
}

/** NCHW concatenation on the channel axis. */
export function concatChannels(a: Tensor, b: Tensor): Tensor {
  const [B, C, H, W] = a.shape as [number, number, number, number];
  const [B2, Cb, H2, W2] = b.shape as [number, number, number, number];
  if (a.shape.length !== 4 || b.shape.length !== 4 || B !== B2 || H !== H2 || W !== W2) {
    throw new Error(`cannot join [${a.shape.join(', ')}] and [${b.shape.join(', ')}] on channels`);
  }
  const plane = H * W;
  const out = new Float32Array(B * (C + Cb) * plane);
  for (let i = 0; i < B; i++) {
    out.set(a.data.subarray(i * C * plane, (i + 1) * C * plane), i * (C + Cb) * plane);
    out.set(b.data.subarray(i * Cb * plane, (i + 1) * Cb * plane), (i * (C + Cb) + C) * plane);
  }
  return { shape: [B, C + Cb, H, W], data: out };
}
