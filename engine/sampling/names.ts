/**
 * Sampler and scheduler names in ComfyUI's order. The sampling module owns these lists: a name is listed
 * only once its math is implemented and tested (the combo in KSampler & co. is built from them).
 */
export const SAMPLER_NAMES: readonly string[] = [
  'euler', 'euler_cfg_pp', 'euler_ancestral', 'heun', 'heunpp2', 'dpm_2', 'dpm_2_ancestral', 'lms', 'dpm_fast',
  'dpm_adaptive', 'dpmpp_2s_ancestral', 'dpmpp_sde', 'dpmpp_2m', 'dpmpp_2m_sde', 'dpmpp_3m_sde', 'ddpm', 'lcm',
  'ipndm', 'ipndm_v', 'deis', 'ddim', 'uni_pc', 'uni_pc_bh2',
];

export const SCHEDULER_NAMES: readonly string[] = [
  'simple', 'sgm_uniform', 'karras', 'exponential', 'ddim_uniform', 'beta', 'normal', 'linear_quadratic', 'kl_optimal',
];
