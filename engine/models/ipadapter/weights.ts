/**
 * Per-layer weights of IPAdapterAdvanced's weight_type, computed in double precision per cross-attention
 * site exactly as the reference computes its Python-float weight before it meets the fp32 tensors. The
 * index `t` is ComfyUI's transformer_index (SpatialTransformers counted in execution order: input, middle,
 * output) and `layers` the count the reference assumes (11 for SDXL, 16 for SD1.x).
 */
import { WeftError } from '../../errors.ts';
import type { CrossAttnSite } from '../unet/blocks.ts';

export const WEIGHT_TYPES = [
  'linear', 'ease in', 'ease out', 'ease in-out', 'reverse in-out', 'weak input', 'weak output', 'weak middle',
  'strong middle', 'style transfer', 'composition', 'strong style transfer', 'style and composition',
  'style transfer precise', 'composition precise',
] as const;
export type WeightType = (typeof WEIGHT_TYPES)[number];

export const EMBEDS_SCALING = ['V only', 'K+V', 'K+V w/ C penalty', 'K+mean(V) w/ C penalty'] as const;
export type EmbedsScaling = (typeof EMBEDS_SCALING)[number];

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/**
 * The transformer_index → weight tables of the reference's layer-selective types. IPAdapterAdvanced has no
 * weight_composition input, so the composition layers of 'style and composition' get the reference's
 * default of 1.0; nor style_boost / composition_boost, so the precise types use the weight everywhere.
 */
function table(type: WeightType, w: number, sdxl: boolean): Map<number, number> | null {
  const all = (idx: number[], v = w): [number, number][] => idx.map((i) => [i, v]);
  const wc = 1.0;
  switch (type) {
    case 'style transfer': return new Map(sdxl ? all([6]) : all([...range(0, 3), ...range(9, 15)]));
    case 'composition': return new Map(sdxl ? all([3]) : [[4, w * 0.25], [5, w]]);
    case 'strong style transfer': return new Map(sdxl ? all([0, 1, 2, ...range(4, 10)]) : all([...range(0, 3), ...range(6, 15)]));
    case 'style and composition':
      return new Map(sdxl ? [[3, wc], [6, w]] : [...all(range(0, 3)), [4, wc * 0.25], [5, wc], ...all(range(9, 15))]);
    case 'style transfer precise':
      return new Map(sdxl ? all([3, 6]) : [...all(range(0, 3)), [4, w * 0.25], [5, w], ...all(range(9, 15))]);
    case 'composition precise':
      return new Map(sdxl
        ? [...all([0, 1, 2], w * 0.1), [3, w], ...all([4, 5], w * 0.1), [6, w], ...all(range(7, 10), w * 0.1)]
        : [...all(range(0, 3)), [4, w * 0.25], [5, w], ...all(range(6, 8), w * 0.1), ...all(range(9, 15))]);
    default: return null;
  }
}

export const isPrecise = (type: WeightType): boolean => type === 'style transfer precise' || type === 'composition precise';

/**
 * Whether a site of a precise type swaps its tokens (the reference's ipadapter_attention sets uncond = cond
 * and cond = cond · 0 there): cond rows then see all-zero image tokens, which add exactly nothing, and uncond
 * rows see the cond image. 'style transfer precise' swaps the composition layers (SDXL 3, SD1.x 4 and 5),
 * 'composition precise' every other layer. Sites without a weight in the table add nothing either way.
 */
export function siteSwapped(type: WeightType, site: CrossAttnSite, layers: number): boolean {
  const t = site.transformerIndex;
  const composition = layers === 11 ? t === 3 : t === 4 || t === 5;
  if (type === 'style transfer precise') return composition;
  if (type === 'composition precise') return !composition;
  return false;
}

/** The weight of one attn2 site for base weight `w`; 0 means the site adds nothing. */
export function siteWeight(type: WeightType, w: number, site: CrossAttnSite, layers: number): number {
  const t = site.transformerIndex;
  const b = site.block;
  switch (type) {
    case 'linear': return w;
    case 'ease in': return w * (0.05 + 0.95 * (1 - t / layers));
    case 'ease out': return w * (0.05 + 0.95 * (t / layers));
    case 'ease in-out': return w * (0.05 + 0.95 * (1 - Math.abs(t - layers / 2) / (layers / 2)));
    case 'reverse in-out': return w * (0.05 + 0.95 * (Math.abs(t - layers / 2) / (layers / 2)));
    case 'weak input': return b === 'input' ? w * 0.2 : w;
    case 'weak middle': return b === 'middle' ? w * 0.2 : w;
    case 'weak output': return b === 'output' ? w * 0.2 : w;
    case 'strong middle': return b === 'input' || b === 'output' ? w * 0.2 : w;
    default: {
      const m = table(type, w, layers === 11);
      if (!m) throw new WeftError(`unknown weight_type '${type as string}'`, { input: 'weight_type', type: 'value_not_in_list' });
      return m.get(t) ?? 0;
    }
  }
}

/**
 * The reference's embeds_scaling folds a context-width penalty into the weight for the 'C penalty' modes:
 * weight · C / 1280 with C the width of the adapter's k for that layer.
 */
export function scaledWeight(scaling: EmbedsScaling, w: number, kWidth: number): number {
  return scaling === 'K+V w/ C penalty' || scaling === 'K+mean(V) w/ C penalty' ? w * (kWidth / 1280.0) : w;
}

/** SpatialTransformer count, as transformer_index runs: 16 for SD1.x, 11 for SDXL. */
const layerCount = (sites: readonly CrossAttnSite[]): number => new Set(sites.map((s) => s.transformerIndex)).size;

/** The `_weight` feed: one weight per attn2 site. */
export function siteWeights(sites: readonly CrossAttnSite[], kWidths: readonly number[], w: number, type: WeightType, scaling: EmbedsScaling): Float32Array {
  const layers = layerCount(sites);
  return Float32Array.from(sites, (s, i) => scaledWeight(scaling, siteWeight(type, w, s, layers), kWidths[i]!));
}

/** The `_swap` feed of a precise type: 1 where the site takes the swapped tokens, else 0. */
export function siteSwaps(sites: readonly CrossAttnSite[], type: WeightType): Float32Array {
  const layers = layerCount(sites);
  return Float32Array.from(sites, (s) => (siteSwapped(type, s, layers) ? 1 : 0));
}
