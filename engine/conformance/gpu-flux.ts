/**
 * FLUX model-call cases of the GPU conformance mode, on the graphs the runtime gives GPU providers: the DiT
 * (raw Flux.forward and apply_model at a sigma) at the run's dtype, the T5 encoder in float32 (its GPU
 * variant is always float32, t5/encoder.ts) and the 16-channel AE, decode and encode, at the run's dtype.
 * Same inputs and outputs as handlers/{flux,t5,fluxvae}.ts; sampler trajectories stay with the CPU runner.
 */
import { SafetensorsFile } from '../io/safetensors.ts';
import { applyFlux } from '../models/flux/apply.ts';
import { FluxModel } from '../models/flux/model.ts';
import { T5Encoder } from '../models/t5/encoder.ts';
import { buildVaeDecoder, buildVaeEncoder, vaeSpec } from '../models/vae/graph.ts';
import { cropForEncode } from '../models/vae/vae.ts';
import { FlowModelSampling } from '../sampling/model-sampling.ts';
import { caseInput, caseTensor } from './inputs.ts';
import { runGraph, type Run } from './gpu-session.ts';

const fluxDit: Run = async (c, m, model, dtype): Promise<Record<string, Float32Array>> => {
  const net = await FluxModel.open(model('diffusion_model'), { threads: 1, executionProviders: ['webgpu'], quiet: true, graph: { ep: 'webgpu' }, dtype });
  try {
    const t = (name: string) => caseTensor(m, c, name);
    if (c.name.startsWith('flux_dit_')) return { out: (await net.run(t('x'), t('timestep').data, t('context'), t('y'), t('guidance').data)).data };
    const p = c.params;
    const ms = new FlowModelSampling(typeof p.shift === 'number' ? p.shift : 1.15);
    const guidance = typeof p.guidance === 'number' ? [p.guidance] : undefined;
    return { denoised: (await applyFlux(ms, net, t('x'), t('sigma').data, t('context'), t('y'), guidance)).denoised };
  } finally {
    await net.close();
  }
};

const fluxT5: Run = async (c, m, model) => {
  const file = SafetensorsFile.open(model('t5'));
  // An in-thread session forced onto webgpu gets the encoder's GPU graph (runtime/graph-session.ts).
  const enc = T5Encoder.open(file, undefined, { threads: 1, models: null, executionProviders: ['webgpu'], quiet: true });
  try {
    const ids = caseInput(m, c, 'token_ids');
    return { last_hidden_state: (await enc.encode(ids.data as BigInt64Array, ids.shape[0] ?? 1)).data };
  } finally {
    await enc.release();
    file.close();
  }
};

const fluxAe: Run = async (c, m, model, dtype) => {
  const file = SafetensorsFile.open(model('vae'));
  try {
    const spec = vaeSpec(file);
    const decode = (name: string) => {
      const t = caseTensor(m, c, name);
      return runGraph(() => buildVaeDecoder(file, spec, { ep: 'webgpu' }).build(), dtype, { latent: { data: t.data, dims: t.shape } });
    };
    const d = await decode('latent');
    const got: Record<string, Float32Array> = { decoded_raw: d.decoded!.data, image_nhwc: d.image!.data };
    if (c.inputs.trajectory_samples) got.trajectory_image_nhwc = (await decode('trajectory_samples')).image!.data;
    if (c.inputs.image_nhwc) {
      const px = cropForEncode(caseTensor(m, c, 'image_nhwc'));
      const e = await runGraph(() => buildVaeEncoder(file, spec, { ep: 'webgpu' }).build(), dtype, { image: { data: px.data, dims: px.shape } });
      got.encode_mean = e.mean!.data;
      got.encode_logvar = e.logvar!.data;
    }
    return got;
  } finally {
    file.close();
  }
};

export const FLUX_GPU_CASES = [
  { topic: 'flux', match: /^(flux_dit_|flux_denoised_)/, run: fluxDit },
  { topic: 't5', match: /^flux_t5_/, run: fluxT5, dtype: 'float32' as const },
  { topic: 'flux_vae', match: /^flux_vae_/, run: fluxAe },
];
