export { parseUNetConfig, headsFromMetadata, headsFromDetected, downsampledSize, type UNetConfig, type HeadOptions, type Layer, type ParseOptions } from './config.ts';
export { buildUNet, type BuildUNetOptions, type BuiltUNet, type GraphIO } from './graph.ts';
export { loadUNet, openUNet, type LoadUNetOptions, type UNetRunInputs, type UNetSession } from './load.ts';
export { applyModel, scaleInput, denoiseBatch, concatChannels, type RawUNet } from './apply.ts';
