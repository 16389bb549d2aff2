/**
 * Decoupled cross-attention as a UNet build hook: in every attn2 layer the adapter adds
 *   w_l · attention(q, to_k_ip(tokens), to_v_ip(tokens))
 * to the text attention's output (before to_out), with the layer's own q and head count (ComfyUI_IPAdapter_plus
 * CrossAttentionPatch). The image tokens and the per-layer weights are graph inputs, so a new image, weight,
 * weight_type or start/end range reuses the session; only the adapter file and embeds_scaling shape the graph.
 *
 * Inputs per adapter (name = `${id}_…`): `_tokens` [B, T, C] (each batch row's cond or uncond tokens) and
 * `_weight` [sites] (one weight per attn2 site in emission order; 0 = the site adds exactly nothing). Only
 * when asked for (they change the graph, so they join the patch key): `_tokens_alt` [B, T, C] and `_swap`
 * [sites] for the precise weight types (a site whose swap is 1 reads the alternative tokens), and one mask
 * `_mask_dN` [B, tokens, 1] per feature-map level (downsampling N) for attn_mask, multiplying the term.
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

export interface FeedNames { tokens: string; weight: string; alt: string; swap: string; mask: (down: number) => string }

/** Input names of adapter `id` in the UNet graph. */
export const feedNames = (id: string): FeedNames => ({
  tokens: `${id}_tokens`, weight: `${id}_weight`, alt: `${id}_tokens_alt`, swap: `${id}_swap`, mask: (down) => `${id}_mask_d${down}`,
});

/** Graph options beyond the adapter file and embeds_scaling; both absent = the graph without them. */
export interface HookOptions {
  /** Per-site choice between `_tokens` and `_tokens_alt` (the precise weight types). */
  precise?: boolean;
  /** Per-token masks (attn_mask). */
  masked?: boolean;
}

export function ipAdapterHook(m: IpAdapterModel, id: string, scaling: EmbedsScaling, opts: HookOptions = {}): CrossAttentionHook {
  let file: SafetensorsFile | undefined;
  let tokens = '';
  let weights = '';
  let alt = '';
  let swap = '';
  const masks = new Map<number, string>();
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
      if (opts.precise) {
        alt = declare(names.alt, ['batch', `${id}_tokens`, m.contextDim]);
        swap = declare(names.swap, [sites.length]);
      }
      if (opts.masked) for (const down of new Set(sites.map((s) => s.down))) masks.set(down, declare(names.mask(down), ['batch', `${id}_mask_d${down}_tokens`, 1]));
    },
    apply({ g, q, out, site, siteIndex }) {
      const n = modules[siteIndex]!;
      const at = (vec: string): string => g.op('Gather', [vec, g.constant(BigInt64Array.of(BigInt(siteIndex)), [])], { axis: 0 });
      // Where, not a blend: the swapped tokens must reach to_k_ip exactly (zeros for cond rows add exactly 0).
      const tok = opts.precise ? g.op('Where', [g.op('Greater', [at(swap), g.scalar(0.5)]), alt, tokens]) : tokens;
      let k = L.linear(g, file!, m.key(n, 'k').slice(0, -'.weight'.length), tok);
      let v = L.linear(g, file!, m.key(n, 'v').slice(0, -'.weight'.length), tok);
      const w = at(weights);
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
      const mask = masks.get(site.down);
      if (mask) o = g.op('Mul', [o, mask]);
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
