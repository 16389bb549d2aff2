/**
 * The sampling module's ModelFn for an SdModel: a batch of (cropped) latents in sampling space with one
 * conditioning entry per row → the denoised prediction, by BaseModel.apply_model's steps — x·c_in joined
 * with the inpaint channels, σ → discrete timestep, the UNet in its worker, eps/v → denoised. Context,
 * SDXL `y` and concat channels are gathered per row; the model's wrappers (ControlNet, …) see every call.
 */
import type { ModelService } from '../../runtime/service.ts';
import type { CondEntry, ModelFn } from '../../sampling/cfg.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { concatChannels, denoiseBatch, scaleInput } from '../unet/apply.ts';
import { controlStage } from '../controlnet/apply.ts';
import type { SdModel, UNetCall, UNetRunner } from './model.ts';
import { runUNet } from './unet-runner.ts';
import { fluxModelFnFor } from '../flux-sd/runner.ts';
import { gligenStage } from '../gligen/apply.ts';

/** Stacks row b of each tensor (leading dim repeats when shorter than the latent batch) into one batch. */
function gather(rows: readonly CondEntry[], pick: (e: CondEntry) => Tensor, B: number): Tensor {
  const first = pick(rows[0]!);
  const inner = first.shape.slice(1);
  const per = inner.reduce((a, b) => a * b, 1);
  const data = new Float32Array(rows.length * per);
  rows.forEach((e, i) => {
    const t = pick(e);
    const n = t.shape[0]!;
    const b = (i % B) % n;
    data.set(t.data.subarray(b * per, (b + 1) * per), i * per);
  });
  return { shape: [rows.length, ...inner], data };
}

/** The concat channels of row i, cropped to the row's area like ComfyUI crops c_concat. */
function concatRows(rows: readonly CondEntry[], B: number, h: number, w: number): Tensor {
  const first = rows[0]!.extra!.concat as Tensor;
  const [, Cc, H, W] = first.shape as [number, number, number, number];
  const out = new Float32Array(rows.length * Cc * h * w);
  rows.forEach((e, i) => {
    const t = e.extra!.concat as Tensor;
    const b = i % B;
    const y0 = h === H ? 0 : e.area?.y ?? 0;
    const x0 = w === W ? 0 : e.area?.x ?? 0;
    for (let c = 0; c < Cc; c++)
      for (let r = 0; r < h; r++) {
        const src = ((b * Cc + c) * H + y0 + r) * W + x0;
        out.set(t.data.subarray(src, src + w), ((i * Cc + c) * h + r) * w);
      }
  });
  return { shape: [rows.length, Cc, h, w], data: out };
}

export function modelFnFor(model: SdModel, service: ModelService, latentShape: readonly number[]): ModelFn {
  // A FLUX MODEL is an SdModel of family 'flux': its DiT takes other inputs than a UNet (engine/models/flux-sd).
  if (model.family === 'flux') return fluxModelFnFor(model, service, latentShape);
  const B = latentShape[0]!;
  const ms = model.modelSampling;
  // GLIGEN rides on the conditioning too; innermost, so the model's wrappers see the MODEL they were made for.
  const gligen = gligenStage(service);
  const base: UNetRunner = (call) => gligen(call, (c) => runUNet(service, c));
  // ControlNet rides on the conditioning (ComfyUI's `control` option), not on the MODEL, so its stage is
  // added here for every model, outermost: the model's own wrappers already see `call.control`.
  const run = [controlStage(service), ...model.wrappers].reduceRight<UNetRunner>((next, wrap) => (call) => wrap(call, next), base);
  return async (x, sigma, rows) => {
    const N = x.shape[0]!;
    const [, , h, w] = x.shape as [number, number, number, number];
    const sigmas = new Array<number>(N).fill(sigma);
    let input: Tensor = { shape: x.shape, data: scaleInput(ms, x.data, sigmas) };
    if (rows[0]?.extra?.concat) input = concatChannels(input, concatRows(rows, B, h, w));
    const call: UNetCall = {
      x: input,
      timesteps: new Float32Array(N).fill(ms.timestep(sigma)),
      sigmas,
      context: gather(rows, (e) => e.context, B),
      y: rows[0]?.extra?.y ? gather(rows, (e) => e.extra!.y as Tensor, B) : undefined,
      conds: rows,
      model,
    };
    const raw = await run(call);
    return { shape: x.shape, data: denoiseBatch(ms, x.data, raw.data, sigmas) };
  };
}
