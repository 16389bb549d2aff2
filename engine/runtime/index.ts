export { ModelService, type ModelHandle, type ModelSpec, type ModelServiceOptions, type LoadedModel } from './service.ts';
export { candidatesFor, selectProvider, detectGpu, platformInfo, EP_NAMES, type EpName, type EpSetting, type EpAttempt, type PlatformInfo, type GpuKind } from './providers.ts';
export { checkWire, type WireTensor, type WireFeeds, type WireType } from './wire.ts';
export { defaultModelService, setDefaultModelService } from './default.ts';
export { GraphSession, type EncoderSessionOptions } from './graph-session.ts';
export { buildVariant, gpuGraphs, once, variantOf, GPU_EPS, VARIANT_BUILD, type BuiltGraph, type GraphSource, type GraphVariant } from './variants.ts';
