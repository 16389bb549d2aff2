/**
 * apply_model for FLUX (ComfyUI model_base.Flux with ModelSamplingFlux + CONST): the latent goes in
 * unscaled, the time input is σ itself, denoised = x − σ·v. Conditioning rows carry the T5 context, the
 * CLIP pooled vector as `extra.y` and the FluxGuidance value as `extra.guidance` (3.5 when absent, as
 * ComfyUI's default).
 */
import { WeftError } from '../../errors.ts';
import type { CondEntry, ModelFn } from '../../sampling/cfg.ts';
import type { ModelSampling } from '../../sampling/model-sampling.ts';
import { isTensor, type Tensor } from '../../tensor/tensor.ts';

/** What applyFlux needs of the network: FluxModel satisfies it. */
export interface FluxNet {
  run(x: Tensor, timesteps: ArrayLike<number>, context: Tensor, y: Tensor, guidance?: ArrayLike<number>): Promise<Tensor>;
}

export const DEFAULT_FLUX_GUIDANCE = 3.5;

/** denoised per batch row at σ per row; also returns the raw velocity. */
export async function applyFlux(
  ms: ModelSampling, net: FluxNet, x: Tensor, sigmas: ArrayLike<number>, context: Tensor, y: Tensor, guidance?: ArrayLike<number>,
): Promise<{ denoised: Float32Array; raw: Float32Array }> {
  const B = x.shape[0]!;
  if (sigmas.length !== B) throw new WeftError(`FLUX apply: ${sigmas.length} sigmas for ${B} batch rows`);
  const t = Float32Array.from(Array.from(sigmas, (s) => ms.timestep(s)));
  const n = x.data.length / B;
  // CONST's calculate_input is the identity (inputScale 1); kept general for other flow samplings.
  const scaled = new Float32Array(x.data.length);
  for (let b = 0; b < B; b++) {
    const c = ms.inputScale(sigmas[b]!);
    for (let i = b * n; i < (b + 1) * n; i++) scaled[i] = x.data[i]! * c;
  }
  const v = await net.run({ shape: x.shape, data: scaled }, t, context, y, guidance);
  const out = new Float32Array(x.data.length);
  for (let b = 0; b < B; b++) {
    const lo = b * n;
    ms.denoised(sigmas[b]!, x.data.subarray(lo, lo + n), v.data.subarray(lo, lo + n), out.subarray(lo, lo + n));
  }
  return { denoised: out, raw: v.data };
}

function stackRows(rows: readonly Tensor[], what: string): Tensor {
  const per = rows[0]!.data.length;
  const data = new Float32Array(per * rows.length);
  rows.forEach((r, i) => {
    if (r.data.length !== per) throw new WeftError(`FLUX: ${what} rows differ in size (${r.data.length} vs ${per})`, { input: what });
    data.set(r.data, i * per);
  });
  return { shape: [rows.length, ...rows[0]!.shape.slice(1)], data };
}

function pooledOf(e: CondEntry): Tensor {
  const y = e.extra?.y ?? e.extra?.pooled_output;
  if (isTensor(y)) return y;
  if (y instanceof Float32Array) return { shape: [1, y.length], data: y };
  throw new WeftError('FLUX needs the CLIP-L pooled output with the conditioning (encode the prompt with a FLUX DualCLIPLoader CLIP)', { input: 'positive' });
}

/** The sampling module's ModelFn over a FLUX network (one call per CFG batch). */
export function fluxModelFn(net: FluxNet, ms: ModelSampling): ModelFn {
  return async (x, sigma, rows) => {
    const context = stackRows(rows.map((r) => r.context), 'context');
    const y = stackRows(rows.map(pooledOf), 'pooled output');
    const guidance = rows.map((r) => (typeof r.extra?.guidance === 'number' ? r.extra.guidance : DEFAULT_FLUX_GUIDANCE));
    const r = await applyFlux(ms, net, x, new Array<number>(rows.length).fill(sigma), context, y, guidance);
    return { shape: x.shape, data: r.denoised };
  };
}
