/**
 * Classifier-free guidance and conditioning combination (comfy/samplers.py calc_cond_batch + cfg_function):
 * every entry of a conditioning list predicts its area with a weight (strength × mask, feathered area
 * edges), predictions are averaged by weight, then denoised = uncond + (cond − uncond)·cfg.
 */
import type { Tensor } from '../tensor/tensor.ts';
import type { Denoiser } from './types.ts';
import { resizeBilinear } from './mask.ts';

/** One conditioning entry, as ConditioningSetArea / SetMask / SetTimestepRange / Combine leave it. */
export interface CondEntry {
  /** Cross-attention context [1 or B, tokens, dim]. */
  context: Tensor;
  /** Model-specific inputs passed through to the model call untouched (pooled `y`, FLUX `guidance`, …). */
  extra?: Record<string, unknown>;
  /** Area in latent cells: ConditioningSetArea's pixels / 8. */
  area?: { height: number; width: number; y: number; x: number };
  strength?: number;
  /** [1 or B, H, W] in [0, 1]; resized to the latent when its size differs. */
  mask?: Tensor;
  maskStrength?: number;
  /** Active while timestepEnd ≤ sigma ≤ timestepStart (sigmas from percentToSigma). */
  timestepStart?: number;
  timestepEnd?: number;
}
export type Conditioning = CondEntry[];

/**
 * apply_model: `x` is a batch [N, C, h, w] of (cropped) latents in sampling space, one CondEntry per row;
 * returns the denoised prediction of the same shape. The model engineers plug the UNet in here.
 */
export type ModelFn = (x: Tensor, sigma: number, conds: readonly CondEntry[]) => Promise<Tensor>;

interface Job {
  side: 0 | 1;
  entry: CondEntry;
  y0: number; x0: number; h: number; w: number;
  /** Weight per latent cell of the crop [B?, h, w] (null = 1 everywhere). */
  mult: Float32Array | null;
  multBatch: number;
}

export class CFGDenoiser implements Denoiser {
  private readonly B: number;
  private readonly C: number;
  private readonly H: number;
  private readonly W: number;
  private readonly acc: [Float32Array, Float32Array];
  private readonly cnt: [Float32Array, Float32Array];

  constructor(
    private readonly model: ModelFn,
    readonly shape: readonly number[],
    private readonly positive: Conditioning,
    private readonly negative: Conditioning,
    readonly cfg: number,
  ) {
    [this.B, this.C, this.H, this.W] = shape as [number, number, number, number];
    const plane = this.B * this.H * this.W;
    const n = plane * this.C;
    this.acc = [new Float32Array(n), new Float32Array(n)];
    this.cnt = [new Float32Array(plane), new Float32Array(plane)];
  }

  async denoise(x: Float32Array, sigma: number): Promise<Float32Array> {
    return (await this.run(x, sigma, Math.abs(this.cfg - 1) > 1e-9)).denoised;
  }

  denoiseWithUncond(x: Float32Array, sigma: number): Promise<{ denoised: Float32Array; uncond: Float32Array }> {
    return this.run(x, sigma, true);
  }

  private jobs(conds: Conditioning, side: 0 | 1, sigma: number): Job[] {
    const out: Job[] = [];
    for (const e of conds) {
      if (e.timestepStart !== undefined && sigma > e.timestepStart) continue;
      if (e.timestepEnd !== undefined && sigma < e.timestepEnd) continue;
      let h = this.H, w = this.W, y0 = 0, x0 = 0;
      if (e.area) {
        y0 = e.area.y; x0 = e.area.x;
        h = Math.min(this.H - y0, e.area.height);
        w = Math.min(this.W - x0, e.area.width);
      }
      const strength = e.strength ?? 1;
      let mult: Float32Array | null = null;
      let multBatch = 1;
      if (e.mask) {
        const m = e.mask.shape.length === 3 ? e.mask : { shape: [1, ...e.mask.shape], data: e.mask.data };
        const [mb, mh, mw] = m.shape as [number, number, number];
        const full = mh === this.H && mw === this.W ? m.data : resizeBilinear(m.data, mb, mh, mw, this.H, this.W);
        multBatch = Math.min(mb, this.B);
        mult = new Float32Array(multBatch * h * w);
        const k = (e.maskStrength ?? 1) * strength;
        for (let b = 0; b < multBatch; b++)
          for (let i = 0; i < h; i++)
            for (let j = 0; j < w; j++) mult[(b * h + i) * w + j] = full[(b * this.H + y0 + i) * this.W + x0 + j]! * k;
      } else if (e.area || strength !== 1) {
        mult = new Float32Array(h * w).fill(strength);
        if (e.area) featherArea(mult, h, w, y0, x0, this.H, this.W);
      }
      out.push({ side, entry: e, y0, x0, h, w, mult, multBatch });
    }
    return out;
  }

  private async run(x: Float32Array, sigma: number, withUncond: boolean): Promise<{ denoised: Float32Array; uncond: Float32Array }> {
    const jobs = [...this.jobs(this.positive, 0, sigma), ...(withUncond ? this.jobs(this.negative, 1, sigma) : [])];
    const { B, C, H, W } = this;
    for (const s of [0, 1] as const) {
      this.acc[s].fill(0);
      this.cnt[s].fill(1e-37); // ComfyUI's floor: uncovered cells give 0, not NaN
    }
    // Full-size jobs whose contexts have the same token count share one batched call (the usual [cond, uncond]).
    const full = jobs.filter((j) => j.h === H && j.w === W);
    const groups = new Map<string, Job[]>();
    for (const j of full) {
      const key = j.entry.context.shape.slice(1).join('x');
      groups.set(key, [...(groups.get(key) ?? []), j]);
    }
    const batches: Job[][] = [...groups.values(), ...jobs.filter((j) => j.h !== H || j.w !== W).map((j) => [j])];
    for (const batch of batches) {
      const { h, w, y0, x0 } = batch[0]!;
      const crop = new Float32Array(batch.length * B * C * h * w);
      for (let r = 0; r < batch.length; r++)
        for (let b = 0; b < B; b++)
          for (let c = 0; c < C; c++)
            for (let i = 0; i < h; i++) {
              const src = ((b * C + c) * H + y0 + i) * W + x0;
              crop.set(x.subarray(src, src + w), (((r * B + b) * C + c) * h + i) * w);
            }
      const rows = batch.flatMap((j) => new Array<CondEntry>(B).fill(j.entry));
      const out = await this.model({ shape: [batch.length * B, C, h, w], data: crop }, sigma, rows);
      for (let r = 0; r < batch.length; r++) {
        const j = batch[r]!;
        const acc = this.acc[j.side];
        const cnt = this.cnt[j.side];
        for (let b = 0; b < B; b++)
          for (let i = 0; i < h; i++)
            for (let q = 0; q < w; q++) {
              const m = j.mult ? j.mult[((b % j.multBatch) * h + i) * w + q]! : 1;
              const cell = (b * H + y0 + i) * W + x0 + q;
              cnt[cell] += m;
              for (let c = 0; c < C; c++) acc[((b * C + c) * H + y0 + i) * W + x0 + q] += out.data[(((r * B + b) * C + c) * h + i) * w + q]! * m;
            }
      }
    }
    const cond = new Float32Array(x.length);
    const uncond = withUncond ? new Float32Array(x.length) : cond;
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++)
        for (let p = 0; p < H * W; p++) {
          const idx = (b * C + c) * H * W + p;
          const cell = b * H * W + p;
          cond[idx] = this.acc[0][idx]! / this.cnt[0][cell]!;
          if (withUncond) uncond[idx] = this.acc[1][idx]! / this.cnt[1][cell]!;
        }
    if (!withUncond) return { denoised: cond, uncond: cond };
    const denoised = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) denoised[i] = uncond[i]! + (cond[i]! - uncond[i]!) * this.cfg;
    return { denoised, uncond };
  }
}

/** ComfyUI fades an area's weight over 8 cells at every edge that is not the latent's border. */
function featherArea(mult: Float32Array, h: number, w: number, y0: number, x0: number, H: number, W: number): void {
  const rr = 8;
  for (let t = 0; t < rr; t++) {
    const f = (t + 1) / rr;
    if (y0 !== 0 && t < h) for (let q = 0; q < w; q++) mult[t * w + q]! *= f;
    if (h + y0 < H && h - 1 - t >= 0) for (let q = 0; q < w; q++) mult[(h - 1 - t) * w + q]! *= f;
    if (x0 !== 0 && t < w) for (let i = 0; i < h; i++) mult[i * w + t]! *= f;
    if (w + x0 < W && w - 1 - t >= 0) for (let i = 0; i < h; i++) mult[i * w + (w - 1 - t)]! *= f;
  }
}
