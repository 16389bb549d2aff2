/**
 * Decoupled cross-attention as a UNet build hook: in every attn2 layer the adapter adds
 *   w_l · attention(q, to_k_ip(tokens), to_v_ip(tokens))
 * to the text attention's output (before to_out), with the layer's own q and head count (ComfyUI_IPAdapter_plus
 * CrossAttentionPatch). The image tokens and the per-layer weights are graph inputs, so a new image, weight,
 * weight_type or start/end range reuses the session; only the adapter file and embeds_scaling shape the graph.
 *
 * Inputs per adapter (name = `${id}_…`): `_tokens` [B, T, C] (each batch row's cond or uncond tokens) and
 * `_weight` [sites] (one weight per attn2 site in emission order; 0 = the site adds exactly nothing).
 */
import { SafetensorsFile } from '../../io/safetensors.ts';
import { WeftError } from '../../errors.ts';
import * as L from '../layers/index.ts';
import type { CrossAttentionHook, CrossAttnSite } from '../unet/blocks.ts';
import type { IpAdapterModel } from './file.ts';
import type { EmbedsScaling } from './weights.ts';

const BLOCK_ORDER = { input: 0, output: 1, middle: 2 } as const;

/**
 * The adapter module number of each site. The reference numbers the layers input blocks first, then output
 * blocks, then the middle block (each by block id and transformer depth), while the UNet runs input → middle →
 * output: site order and module order differ for the middle and output layers.
 */
export function moduleNumbers(m: IpAdapterModel, sites: readonly CrossAttnSite[]): number[] {
  if (m.modules.length !== sites.length) {
    throw new WeftError(`${m.path}: the IP-Adapter has ${m.modules.length} cross-attention layers but the model has ${sites.length}` +
      (m.isSdxl ? ' (an SDXL adapter on an SD1.x model?)' : ' (an SD1.x adapter on another model family?)'), { file: m.path, input: 'ipadapter' });
  }
  const order = sites.map((s, i) => i).sort((a, b) => {
    const x = sites[a]!, y = sites[b]!;
    return BLOCK_ORDER[x.block] - BLOCK_ORDER[y.block] || x.id - y.id || x.depthIndex - y.depthIndex;
  });
  const out = new Array<number>(sites.length);
  order.forEach((site, rank) => (out[site] = m.modules[rank]!));
  return out;
}

/** Input names of adapter `id` in the UNet graph. */
export const feedNames = (id: string): { tokens: string; weight: string } => ({ tokens: `${id}_tokens`, weight: `${id}_weight` });

export function ipAdapterHook(m: IpAdapterModel, id: string, scaling: EmbedsScaling): CrossAttentionHook {
  let file: SafetensorsFile | undefined;
  let tokens = '';
  let weights = '';
  let modules: number[] = [];
  return {
    begin({ sites, declare }) {
      modules = moduleNumbers(m, sites);
      // Only the header is needed while building (ORT maps the bytes later); the descriptor is closed at once.
      file = SafetensorsFile.open(m.path);
      file.close();
      const names = feedNames(id);
      tokens = declare(names.tokens, ['batch', `${id}_tokens`, m.contextDim]);
      weights = declare(names.weight, [sites.length]);
    },
    apply({ g, q, out, site, siteIndex }) {
      const n = modules[siteIndex]!;
      let k = L.linear(g, file!, m.key(n, 'k').slice(0, -'.weight'.length), tokens);
      let v = L.linear(g, file!, m.key(n, 'v').slice(0, -'.weight'.length), tokens);
      const w = g.op('Gather', [weights, g.constant(BigInt64Array.of(BigInt(siteIndex)), [])], { axis: 0 });
      let o: string;
      if (scaling === 'V only') {
        o = g.op('Mul', [L.attention(g, q, k, v, site.heads), w]);
      } else if (scaling === 'K+mean(V) w/ C penalty') {
        k = g.op('Mul', [k, w]);
        const mean = g.op('ReduceMean', [v, g.constInt64([1])], { keepdims: 1 });
        v = g.op('Add', [g.op('Sub', [v, mean]), g.op('Mul', [mean, w])]);
        // At weight 0 the reference adds nothing; here softmax(0)·(v − mean) would leave rounding noise.
        o = g.op('Where', [g.op('Equal', [w, g.scalar(0)]), g.scalar(0), L.attention(g, q, k, v, site.heads)]);
      } else {
        // K+V (the C penalty is already in w): attention(q, 0, 0) is exactly 0 at weight 0.
        o = L.attention(g, q, g.op('Mul', [k, w]), g.op('Mul', [v, w]), site.heads);
      }
      return g.op('Add', [out, o]);
    },
  };
}

/** Graph-independent helpers for the per-call feed: the adapter's k width per site (for the C penalty). */
export function kWidths(m: IpAdapterModel, modules: readonly number[]): number[] {
  const f = SafetensorsFile.open(m.path);
  try {
    return modules.map((n) => f.get(m.key(n, 'k')).shape[0]!);
  } finally {
    f.close();
  }
}
