export { IpAdapterModel, asIpAdapter, isIpAdapterModel, type IpAdapterPipeline, type ProjKind } from './file.ts';
export { buildProjectionGraph, projectImage } from './projection.ts';
export { ipAdapterHook, moduleNumbers, feedNames, kWidths, type HookOptions } from './attention.ts';
export { WEIGHT_TYPES, EMBEDS_SCALING, siteWeight, siteWeights, siteSwapped, siteSwaps, isPrecise, scaledWeight, type WeightType, type EmbedsScaling } from './weights.ts';
export { maskGrid, layerMask, maskFeeds, maskLevels, batchPrompt, resizeBilinearTorch } from './mask.ts';
export { COMBINE_EMBEDS, combineEmbeds, repeatToBatch, joinTokens, type CombineEmbeds } from './embeds.ts';
export { applyIpAdapter, encodeImageTokens, isUncondRow, type ApplyOptions, type EncodeOptions, type ImageTokens } from './apply.ts';
export { openIpUNet, type IpUNetSession, type IpUNetRun } from './session.ts';
