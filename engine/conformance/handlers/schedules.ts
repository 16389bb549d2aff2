/**
 * Model-sampling tables and KSampler schedules: model_sampling_*, sd2v_model_sampling, sigma_timestep_*,
 * sigmas_*, flux_model_sampling.
 */
import type { CaseHandler, ConformanceCase } from '../types.ts';
import { DiscreteModelSampling, FlowModelSampling, fluxShift, type ModelSampling } from '../../sampling/model-sampling.ts';
import { ksamplerSigmas } from '../../sampling/schedulers.ts';

function discrete(c: ConformanceCase): DiscreteModelSampling {
  const p = c.params ?? {};
  return new DiscreteModelSampling({
    prediction: p.prediction_type === 'v_prediction' ? 'v_prediction' : 'eps',
    linearStart: p.linear_start,
    linearEnd: p.linear_end,
    timesteps: p.timesteps,
    sigmaData: p.sigma_data,
  });
}

function fluxCase(c: ConformanceCase): Record<string, Float32Array> {
  const def = Number(c.params.default_shift ?? 1.15);
  const got: Record<string, Float32Array> = {};
  for (const key of Object.keys(c.expected)) {
    if (key === 'sigmas_table_default_shift') {
      got[key] = new FlowModelSampling(def).sigmas;
      continue;
    }
    const m = /^sigmas_(default|(\d+)x(\d+))_([a-z_]+?)_(\d+)steps(?:_denoise([\d.]+))?$/.exec(key);
    if (!m) throw new Error(`unrecognised expected tensor ${key}`);
    const shift = m[1] === 'default' ? def : fluxShift(Number(m[2]), Number(m[3]));
    got[key] = ksamplerSigmas(new FlowModelSampling(shift), m[4]!, 'euler', Number(m[5]), m[6] ? Number(m[6]) : 1);
  }
  return got;
}

export const handler: CaseHandler = {
  topic: 'schedules',
  match: (c) =>
    c.name.startsWith('model_sampling_') || c.name === 'sd2v_model_sampling' || c.name.startsWith('sigma_timestep') ||
    c.name.startsWith('sigmas_') || c.name === 'flux_model_sampling',
  async run(c, ctx) {
    if (c.name === 'flux_model_sampling') return { got: fluxCase(c) };
    if (c.name.startsWith('sigma_timestep')) {
      const ms: ModelSampling = discrete(c);
      const t = await ctx.tensors();
      const sig = t.get('input.sigma')!.data as Float32Array;
      const ts = t.get('input.t')!.data as Float32Array;
      return {
        got: {
          timestep_of_sigma: Float32Array.from(sig, (s) => ms.timestep(s)),
          sigma_of_t: Float32Array.from(ts, (v) => ms.sigma(v)),
        },
      };
    }
    if (c.name.startsWith('sigmas_')) {
      const ms = discrete(c);
      const got: Record<string, Float32Array> = {};
      for (const v of c.params.variants as Array<{ tensor: string; steps: number; denoise: number; sampler_class: string }>) {
        const key = v.tensor.replace(/^expected\./, '');
        const sampler = v.sampler_class.includes('dpm_2') ? 'dpm_2' : 'euler';
        got[key] = ksamplerSigmas(ms, c.params.scheduler as string, sampler, v.steps, v.denoise);
      }
      return { got };
    }
    const ms = discrete(c);
    return { got: { sigmas: ms.sigmas, log_sigmas: ms.logSigmas } };
  },
};
