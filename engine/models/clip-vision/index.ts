export { ClipVisionModel, asClipVision, isClipVisionModel, type ClipVisionOutput, type ClipVisionOpenOptions } from './model.ts';
export { FullClipModel, cosineMatrix, normalizeRows, type FullClipOptions } from './full.ts';
export { CLIP_MEAN, CLIP_STD, aaBicubicTaps, clipPreprocess, clipResizePlan, resizeBicubicAA, roundHalfEven, type ClipCrop, type PreprocessOptions } from './preprocess.ts';
export { buildClipVisionGraph } from './graph.ts';
export { clipVisionSpec, defaultVisionHeads, findVisionTower, metadataOverrides, visionKeys, visionLayerKeys, type ClipVisionSpec, type VisionLayout, type VisionOverrides } from './spec.ts';
export { graphRunner, type GraphRunner, type RunnerOptions } from './runner.ts';
