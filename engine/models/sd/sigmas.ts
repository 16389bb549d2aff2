/**
 * SIGMAS for the custom-sampling nodes (comfy_extras/nodes_custom_sampler.py): BasicScheduler's
 * denoise rule, the schedules that are not KSampler scheduler names (polyexponential, VP, SD-Turbo),
 * and the SIGMAS list operations. The named schedules themselves are the sampling module's.
 */
import { WeftError } from '../../errors.ts';
import type { ModelSampling } from '../../sampling/model-sampling.ts';
import { linspace32 } from '../../sampling/model-sampling.ts';
import { calculateSigmas } from '../../sampling/schedulers.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { pyRound } from '../../tensor/upscale.ts';

export function sigmasTensor(a: Float32Array): Tensor {
  return { shape: [a.length], data: a };
}

export function sigmasOf(t: Tensor | undefined, input = 'sigmas'): Float32Array {
  if (!t || !(t.data instanceof Float32Array) || t.shape.length !== 1) throw new WeftError(`${input}: expected SIGMAS (a 1-D list of noise levels)`, { input });
  return t.data;
}

/** BasicScheduler: int(steps/denoise) steps are scheduled and the last steps+1 sigmas kept. */
export function basicSigmas(ms: ModelSampling, scheduler: string, steps: number, denoise: number): Float32Array {
  if (denoise < 1) {
    if (denoise <= 0) return new Float32Array(0);
    const all = calculateSigmas(ms, scheduler, Math.trunc(steps / denoise));
    return all.slice(Math.max(0, all.length - (steps + 1)));
  }
  return calculateSigmas(ms, scheduler, steps);
}

function withZero(v: ArrayLike<number>): Float32Array {
  const out = new Float32Array(v.length + 1);
  out.set(v);
  return out;
}

/** k-diffusion get_sigmas_polyexponential: log-sigma follows ramp^rho from max to min. */
export function polyexponentialSigmas(n: number, sigmaMin: number, sigmaMax: number, rho: number): Float32Array {
  const ramp = linspace32(1, 0, n);
  const lmin = Math.log(sigmaMin), lmax = Math.log(sigmaMax);
  return withZero(Array.from(ramp, (r) => Math.exp(r ** rho * (lmax - lmin) + lmin)));
}

/** k-diffusion get_sigmas_vp: the continuous VP-SDE schedule. */
export function vpSigmas(n: number, betaD: number, betaMin: number, epsS: number): Float32Array {
  const t = linspace32(1, epsS, n);
  return withZero(Array.from(t, (v) => Math.sqrt(Math.exp((betaD * v * v) / 2 + betaMin * v) - 1)));
}

/** SDTurboScheduler: timesteps 999, 899, …, 99 from int(10·denoise) steps before the end. */
export function sdTurboSigmas(ms: ModelSampling, steps: number, denoise: number): Float32Array {
  const start = 10 - Math.trunc(10 * denoise);
  const ts: number[] = [];
  for (let i = 10; i >= 1; i--) ts.push(i * 100 - 1);
  return withZero(ts.slice(start, start + steps).map((t) => ms.sigma(t)));
}

export function splitSigmas(s: Float32Array, step: number): [Float32Array, Float32Array] {
  return [s.slice(0, step + 1), s.slice(Math.min(step, s.length))];
}

/** SplitSigmasDenoise: the last round(steps·denoise) steps go to the low half. */
export function splitSigmasDenoise(s: Float32Array, denoise: number): [Float32Array, Float32Array] {
  const steps = Math.max(s.length - 1, 0);
  const total = pyRound(steps * denoise);
  const high = total === 0 ? new Float32Array(0) : s.slice(0, s.length - total);
  return [high, s.slice(Math.max(0, s.length - (total + 1)))];
}

/** FlipSigmas: reversed; a leading 0 becomes 0.0001 so the first step has a noise level. */
export function flipSigmas(s: Float32Array): Float32Array {
  const out = s.slice().reverse();
  if (out.length > 0 && out[0] === 0) out[0] = 0.0001;
  return out;
}
