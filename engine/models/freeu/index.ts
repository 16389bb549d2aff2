/**
 * FreeU and FreeU_V2 (comfy_extras/nodes_freelunch.py) as UNet graph patches. ComfyUI registers an
 * output_block_patch that, at every output block whose backbone input h has model_channels·4 channels
 * (b1, s1) or model_channels·2 channels (b2, s2), scales the first half of h's channels and Fourier-filters
 * the skip connection before the two are concatenated. Here the same happens while the ONNX graph is built
 * (BuildUNetOptions.outputBlockPatches), so the patch is part of the session key and costs nothing per call.
 */
import { WeftError } from '../../errors.ts';
import type { GraphBuilder } from '../../onnx/index.ts';
import type { SdModel, WeightPatch } from '../sd/model.ts';
import type { OutputBlockPatch } from '../unet/graph.ts';
import { fourierFilter } from './filter.ts';

export { fourierFilter, fourierMixing } from './filter.ts';

export type FreeUVersion = 'v1' | 'v2';
export interface FreeUParams { b1: number; b2: number; s1: number; s2: number }

/** h[:, :C/2] ·= factor (a number, or a [B, 1, H, W] value broadcast over those channels); the rest untouched. */
function scaleFirstHalf(g: GraphBuilder, h: string, channels: number, factor: string): string {
  const half = Math.floor(channels / 2);
  const [a, b] = g.opN('Split', [h, g.constInt64([half, channels - half])], 2, { axis: 1 });
  return g.op('Concat', [g.op('Mul', [a!, factor]), b!], { axis: 1 });
}

/**
 * V2's backbone factor: 1 + (b − 1)·m̂, m̂ the channel mean of h min-max normalised over each image's H×W
 * (a flat mean map divides by zero and gives NaN, as in ComfyUI).
 */
function v2Factor(g: GraphBuilder, h: string, b: number): string {
  const mean = g.op('ReduceMean', [h, g.constInt64([1])], { keepdims: 1 });
  const hw = g.constInt64([2, 3]);
  const mx = g.op('ReduceMax', [mean, hw], { keepdims: 1 });
  const mn = g.op('ReduceMin', [mean, hw], { keepdims: 1 });
  const norm = g.op('Div', [g.op('Sub', [mean, mn]), g.op('Sub', [mx, mn])]);
  return g.op('Add', [g.op('Mul', [norm, g.scalar(b - 1)]), g.scalar(1)]);
}

/** The output-block hook for one FreeU setting. */
export function freeuOutputPatch(version: FreeUVersion, p: FreeUParams): OutputBlockPatch {
  return ({ g, h, skip, hChannels, modelChannels }) => {
    const scale = hChannels === modelChannels * 4 ? { b: p.b1, s: p.s1 } : hChannels === modelChannels * 2 ? { b: p.b2, s: p.s2 } : null;
    if (!scale) return { h, skip };
    const factor = version === 'v1' ? g.scalar(scale.b) : v2Factor(g, h, scale.b);
    return { h: scaleFirstHalf(g, h, hChannels, factor), skip: fourierFilter(g, skip, scale.s) };
  };
}

/** A WeightPatch whose build appends the hook; its key names version and all four numbers exactly. */
export function freeuPatch(version: FreeUVersion, p: FreeUParams): WeightPatch {
  const hook = freeuOutputPatch(version, p);
  return {
    kind: version === 'v1' ? 'freeu' : 'freeu_v2',
    key: `b1=${p.b1},b2=${p.b2},s1=${p.s1},s2=${p.s2}`,
    build: (o) => ({ ...o, outputBlockPatches: [...(o.outputBlockPatches ?? []), hook] }),
  };
}

/** FreeU / FreeU_V2 node body: a clone of `model` with the patch appended (ComfyUI appends, so two FreeUs stack). */
export function applyFreeU(model: SdModel, version: FreeUVersion, p: FreeUParams): SdModel {
  if (!model.detected.unet) {
    throw new WeftError(`model: FreeU patches the output blocks of an SD1/SD2/SDXL UNet; this ${model.family} model has none`, { input: 'model', type: 'not_implemented' });
  }
  const m = model.clone();
  m.patches.push(freeuPatch(version, p));
  return m;
}
