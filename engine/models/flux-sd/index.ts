/** FLUX as nodes: the MODEL (an SdModel of family 'flux'), the FLUX CLIP, loaders, and tiny test stand-ins. */
export { fluxModelFromFile, isFluxModel, fluxQuantOf, withWeightDtype, withFluxShift } from './model.ts';
export { fluxModelFnFor, fluxSession } from './runner.ts';
export { FluxClip, asFluxClip, isFluxClip, t5TokenizerDirs, t5TokenizerFrom, releaseFluxEncoders, type T5Ref } from './clip.ts';
export { loadFluxClip, loadFluxCheckpoint, isT5File, refuseLoneT5, type LoadedFluxCheckpoint, type FluxLoadOptions } from './load.ts';
export { writeTinyT5, writeTinyClipL, writeTinyFluxAe, writeTinyFluxDit, writeTinyFluxCheckpoint, tinyT5Tensors, aeTensors, TINY_T5, TINY_CLIP_L } from './synthetic.ts';
