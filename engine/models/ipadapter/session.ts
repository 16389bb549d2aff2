/**
 * An in-thread UNet session with one IP-Adapter built in, for the conformance runner and tests (the app goes
 * through SdModel patches and the model service instead). Same graph as the app's: buildUNet + the hook.
 */
import { SafetensorsFile } from '../../io/safetensors.ts';
import { createSession, runFloat } from '../../onnx/index.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { headsFromMetadata, type UNetConfig } from '../unet/config.ts';
import { buildUNet, crossAttnSites } from '../unet/graph.ts';
import type { CrossAttnSite } from '../unet/blocks.ts';
import type { IpAdapterModel } from './file.ts';
import { feedNames, ipAdapterHook, kWidths, moduleNumbers, type FeedNames, type HookOptions } from './attention.ts';
import { siteSwaps, siteWeights, type EmbedsScaling, type WeightType } from './weights.ts';

export interface IpUNetRun {
  x: Tensor;
  timesteps: Float32Array;
  context: Tensor;
  /** Image tokens per batch row [B, T, C]. */
  tokens: Tensor;
  /** One weight per attn2 site (see weightsFor). */
  weights: Float32Array;
  /** The optional inputs the session was opened with (`_tokens_alt`, `_swap`, `_mask_dN`), by name. */
  extra?: Record<string, Tensor>;
}

export interface IpUNetSession {
  config: UNetConfig;
  sites: CrossAttnSite[];
  /** Per-site weights for a weight_type and base weight, as the MODEL patch computes them. */
  weightsFor(weight: number, type?: WeightType): Float32Array;
  /** The `_swap` feed of a precise type. */
  swapsFor(type: WeightType): Float32Array;
  names: FeedNames;
  run(r: IpUNetRun): Promise<Tensor>;
  release(): Promise<void>;
}

export async function openIpUNet(checkpoint: string, m: IpAdapterModel, scaling: EmbedsScaling = 'V only', threads?: number, hook: HookOptions = {}): Promise<IpUNetSession> {
  const file = SafetensorsFile.open(checkpoint);
  let built;
  try {
    built = buildUNet(file, { ...headsFromMetadata(file.metadata), crossAttention: [ipAdapterHook(m, 'ipadapter0', scaling, hook)] });
  } finally {
    file.close();
  }
  const session = await createSession(built.bytes, built.weightsDir, { label: `UNet+IP-Adapter ${checkpoint}`, threads });
  const sites = crossAttnSites(built.config);
  const widths = kWidths(m, moduleNumbers(m, sites));
  const names = feedNames('ipadapter0');
  return {
    config: built.config,
    sites,
    weightsFor: (w, type = 'linear') => siteWeights(sites, widths, w, type, scaling),
    swapsFor: (type) => siteSwaps(sites, type),
    names,
    async run(r) {
      const out = (await runFloat(session, {
        x: { data: r.x.data, dims: r.x.shape },
        timesteps: { data: r.timesteps, dims: [r.timesteps.length] },
        context: { data: r.context.data, dims: r.context.shape },
        [names.tokens]: { data: r.tokens.data, dims: r.tokens.shape },
        [names.weight]: { data: r.weights, dims: [r.weights.length] },
        ...Object.fromEntries(Object.entries(r.extra ?? {}).map(([k, t]) => [k, { data: t.data, dims: t.shape }])),
      })).out!;
      return { shape: out.dims, data: out.data };
    },
    release: () => session.release(),
  };
}
