/**
 * IPAdapterAdvanced as a MODEL patch (ComfyUI_IPAdapter_plus ipadapter_execute): encode the reference image
 * with CLIP vision, project cond and uncond image tokens, and patch every attn2 layer. The graph part is a
 * build patch (its key joins the session key); image tokens, weights, the start/end range and the attn_mask
 * values reach the session per call through a wrapper, so changing them never rebuilds the UNet. Using a
 * mask at all, or a precise weight type, adds graph inputs and so is part of the key.
 */
import { WeftError } from '../../errors.ts';
import type { ModelService } from '../../runtime/service.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { CondEntry } from '../../sampling/cfg.ts';
import type { ClipVisionModel } from '../clip-vision/model.ts';
import { openUNetWeights, type SdModel } from '../sd/model.ts';
import { withFeeds } from '../sd/unet-runner.ts';
import { parseUNetConfig } from '../unet/config.ts';
import { crossAttnSites } from '../unet/graph.ts';
import type { CrossAttnSite } from '../unet/blocks.ts';
import { asBuilderFile } from '../lora/bridge.ts';
import type { IpAdapterModel } from './file.ts';
import { projectImage } from './projection.ts';
import { feedNames, ipAdapterHook, kWidths, moduleNumbers } from './attention.ts';
import { isPrecise, siteSwaps, siteWeights, type EmbedsScaling, type WeightType } from './weights.ts';
import { batchPrompt, maskFeeds } from './mask.ts';
import { asMask3 } from '../../tensor/mask.ts';
import { combineEmbeds, repeatToBatch, joinTokens, type CombineEmbeds } from './embeds.ts';

export interface ImageTokens {
  /** [1, T, C] for the cond rows of the batch. */
  cond: Tensor;
  /** [1, T, C] for the uncond rows. */
  uncond: Tensor;
}

export interface EncodeOptions {
  imageNegative?: Tensor;
  combine?: CombineEmbeds;
  models?: ModelService;
}

/**
 * Cond / uncond image-prompt tokens of `image` [B, H, W, 3]. Uncond: zeros of the image embeds (plain), or the
 * penultimate states of a black 224² image (plus, full); an image_negative replaces either.
 */
export async function encodeImageTokens(m: IpAdapterModel, cv: ClipVisionModel, image: Tensor, o: EncodeOptions = {}): Promise<ImageTokens> {
  const pick = (r: Awaited<ReturnType<ClipVisionModel['encodeImage']>>): Tensor => (m.usesHiddenStates ? r.penultimate_hidden_states : r.image_embeds);
  const cond = pick(await cv.encodeImage(image, 'center'));
  let uncond: Tensor;
  if (o.imageNegative) uncond = pick(await cv.encodeImage(o.imageNegative, 'center'));
  else if (m.usesHiddenStates) uncond = pick(await cv.encodeImage({ shape: [1, cv.imageSize, cv.imageSize, 3], data: new Float32Array(cv.imageSize * cv.imageSize * 3) }, 'center'));
  else uncond = { shape: cond.shape, data: new Float32Array(cond.data.length) };
  uncond = repeatToBatch(uncond, cond.shape[0]!);
  let c = cond;
  const B = cond.shape[0]!;
  if (o.combine && o.combine !== 'concat' && B > 1) {
    c = combineEmbeds(cond, o.combine);
    uncond = repeatToBatch(uncond, 1);
  }
  // 'concat' of several images: the reference's attention folds the image batch into the token axis.
  return { cond: joinTokens(await projectImage(m, c, o.models)), uncond: joinTokens(await projectImage(m, uncond, o.models)) };
}

export interface ApplyOptions {
  weight: number;
  weightType?: WeightType;
  startAt?: number;
  endAt?: number;
  embedsScaling?: EmbedsScaling;
  /** attn_mask: a MASK [B, H, W] limiting where the adapter acts (see mask.ts). */
  attnMask?: Tensor;
}

/** ComfyUI's cond_or_uncond of a batch row: entries of the negative list carry `extra.cond_or_uncond = 1`. */
export function isUncondRow(e: CondEntry): boolean {
  return e.extra?.cond_or_uncond === 1;
}

interface SiteInfo { sites: CrossAttnSite[]; modules: number[]; widths: number[] }

function siteInfo(model: SdModel, m: IpAdapterModel): SiteInfo {
  const f = openUNetWeights(model.source);
  try {
    const sites = crossAttnSites(parseUNetConfig(asBuilderFile(f), { prefix: model.source.prefix, ...model.source.heads }));
    const modules = moduleNumbers(m, sites);
    return { sites, modules, widths: kWidths(m, modules) };
  } finally {
    f.close();
  }
}

/** A clone of `model` with the adapter patched into every cross-attention layer. */
export function applyIpAdapter(model: SdModel, m: IpAdapterModel, tokens: ImageTokens, o: ApplyOptions): SdModel {
  const type = o.weightType ?? 'linear';
  const scaling = o.embedsScaling ?? 'V only';
  const info = siteInfo(model, m); // also checks the layer counts match before anything runs
  const weights = siteWeights(info.sites, info.widths, o.weight, type, scaling);
  const ms = model.modelSampling;
  const sigmaStart = ms.percentToSigma(o.startAt ?? 0);
  const sigmaEnd = ms.percentToSigma(o.endAt ?? 1);
  const [C, T] = [tokens.cond.shape[2]!, tokens.cond.shape[1]!];
  if (C !== m.contextDim || tokens.uncond.shape[1] !== T) throw new WeftError(`${m.path}: image tokens [${tokens.cond.shape.join(', ')}] do not fit this adapter`, { input: 'ipadapter' });

  const precise = isPrecise(type);
  const mask = o.attnMask ? asMask3(o.attnMask, 'attn_mask') : undefined;
  const swaps = precise ? siteSwaps(info.sites, type) : undefined;

  const c = model.clone();
  const id = `ipadapter${c.patches.filter((p) => p.kind === 'ipadapter').length}`;
  const names = feedNames(id);
  // Precise types and masks add graph inputs; their values (like tokens and weights) are per-call feeds.
  const hook = { precise, masked: !!mask };
  c.patches.push({
    key: [id, m.path, scaling, ...(precise ? ['precise'] : []), ...(mask ? ['mask'] : [])].join('|'), kind: 'ipadapter',
    build: (b) => ({ ...b, crossAttention: [...(b.crossAttention ?? []), ipAdapterHook(m, id, scaling, hook)] }),
  });
  const off = new Float32Array(weights.length);
  c.wrappers.push((call, next) => {
    // The reference tests the first row's sigma against the range (Attn2Replace).
    const s = call.sigmas[0]!;
    const active = s <= sigmaStart && s >= sigmaEnd;
    const feeds: Record<string, Tensor> = {
      [names.tokens]: rowTokens(call.conds, (u) => (u ? tokens.uncond : tokens.cond)),
      [names.weight]: { shape: [weights.length], data: active ? weights : off },
    };
    if (swaps) {
      // Swapped sites: cond rows read cond · 0, uncond rows the cond tokens (the reference's uncond = cond).
      const zero: Tensor = { shape: tokens.cond.shape, data: new Float32Array(T * C) };
      feeds[names.alt] = rowTokens(call.conds, (u) => (u ? tokens.cond : zero));
      feeds[names.swap] = { shape: [swaps.length], data: swaps };
    }
    if (mask) Object.assign(feeds, maskFeeds(mask, info.sites, call.x.shape, batchPrompt(call.conds), names.mask));
    return next(withFeeds(call, feeds));
  });
  return c;
}

/** [rows, T, C]: each row's [1, T, C] tokens, by whether the row is an uncond one. */
function rowTokens(conds: readonly CondEntry[], pick: (uncond: boolean) => Tensor): Tensor {
  const first = pick(false);
  const per = first.data.length;
  const data = new Float32Array(conds.length * per);
  conds.forEach((e, r) => data.set(pick(isUncondRow(e)).data, r * per));
  return { shape: [conds.length, ...first.shape.slice(1)], data };
}
