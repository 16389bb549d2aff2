export { parseUNetConfig, headsFromMetadata, headsFromDetected, downsampledSize, type UNetConfig, type HeadOptions, type Layer, type ParseOptions } from './config.ts';
export { buildUNet, type BuildUNetOptions, type BuiltUNet, type GraphIO, type StaticShape, type OutputBlockPatch, type OutputBlockSite } from './graph.ts';
export { timestepFrequencies, type LayerPatch, type AttentionInputHook, type AttentionInputSite, type AttentionInputs } from './blocks.ts';
export { loadUNet, openUNet, type LoadUNetOptions, type UNetRunInputs, type UNetSession } from './load.ts';
export { applyModel, scaleInput, denoiseBatch, concatChannels, type RawUNet } from './apply.ts';
export { writeSyntheticUNet, streamSyntheticUNet, unetParams, type SyntheticUNetSpec } from './synthetic.ts';
