/** ComfyUI sampler name → implementation. ddim is euler (ComfyUI maps it so, with seed+1 inpaint noise). */
import type { SamplerFn } from '../types.ts';
import { sampleDpm2, sampleDpm2Ancestral, sampleEuler, sampleEulerAncestral, sampleEulerCfgPP, sampleHeun, sampleHeunpp2, sampleLms } from './euler.ts';
import { sampleDpmpp2m, sampleDpmpp2mSde, sampleDpmpp2sAncestral, sampleDpmpp3mSde, sampleDpmppSde } from './dpmpp.ts';
import { sampleDdpm, sampleDeis, sampleIpndm, sampleIpndmV, sampleLcm } from './multistep.ts';
import { sampleDpmAdaptive, sampleDpmFast } from './dpm-solver.ts';
import { sampleUniPc, sampleUniPcBh2 } from './uni-pc.ts';

export const SAMPLERS: Readonly<Record<string, SamplerFn>> = {
  euler: sampleEuler,
  euler_cfg_pp: sampleEulerCfgPP,
  euler_ancestral: sampleEulerAncestral,
  heun: sampleHeun,
  heunpp2: sampleHeunpp2,
  dpm_2: sampleDpm2,
  dpm_2_ancestral: sampleDpm2Ancestral,
  lms: sampleLms,
  dpm_fast: sampleDpmFast,
  dpm_adaptive: sampleDpmAdaptive,
  dpmpp_2s_ancestral: sampleDpmpp2sAncestral,
  dpmpp_sde: sampleDpmppSde,
  dpmpp_2m: sampleDpmpp2m,
  dpmpp_2m_sde: sampleDpmpp2mSde,
  dpmpp_3m_sde: sampleDpmpp3mSde,
  ddpm: sampleDdpm,
  lcm: sampleLcm,
  ipndm: sampleIpndm,
  ipndm_v: sampleIpndmV,
  deis: sampleDeis,
  ddim: sampleEuler,
  uni_pc: sampleUniPc,
  uni_pc_bh2: sampleUniPcBh2,
};

/** Samplers that draw Brownian-tree noise (torchsde in ComfyUI). */
export const SDE_SAMPLERS: ReadonlySet<string> = new Set(['dpmpp_sde', 'dpmpp_2m_sde', 'dpmpp_3m_sde']);

export function getSampler(name: string): SamplerFn {
  const fn = SAMPLERS[name];
  if (!fn) throw new Error(`unknown sampler '${name}'`);
  return fn;
}
