export { archName, describeUpscaler, sizeMultiple, type RrdbArch, type SrvggArch, type UpscalerArch } from './arch.ts';
export { buildUpscalerGraph } from './graph.ts';
export { isUpscaleModel, UpscaleModel, type UpscaleModelOptions } from './model.ts';
export {
  isMemoryError, nchwToNhwcClamped, nhwcToNchw, UPSCALE_OVERLAP, UPSCALE_TILE, upscaleImageWithModel, upscaleTiledNchw,
  type ImageUpscaler, type UpscaleFlowOptions,
} from './upscale.ts';
