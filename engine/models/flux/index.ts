/** FLUX DiT: model files in the BFL layout → ONNX graph → velocity / denoised predictions. */
export { FluxModel, QUANT_PRESETS, patchify, unpatchify, quantizableKeys, type FluxOpenOptions, type FluxQuant, type FluxLoadInfo } from './model.ts';
export { applyFlux, fluxModelFn, DEFAULT_FLUX_GUIDANCE, type FluxNet } from './apply.ts';
export { fluxDims, FLUX_THETA, FLUX_TIME_DIM, FLUX_TIME_FACTOR, type FluxDims } from './config.ts';
export { buildFluxGraph, FLUX_INPUTS, type FluxGraphOptions } from './graph.ts';
export { patchGrid, positionIds, ropeTables, type RopeTables } from './rope.ts';
export { fluxTensorList, writeSyntheticFlux, type SyntheticFluxSpec } from './synthetic.ts';
