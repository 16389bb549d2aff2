export { buildControlNet, controlNetPrefix, type BuildControlNetOptions, type BuiltControlNet } from './graph.ts';
export { loadControlNet, openControlNet, prepareHint, mergeControl, type ControlNetRunInputs, type ControlNetSession, type LoadControlNetOptions } from './load.ts';
export { writeSyntheticControlNet, controlNetParams } from './synthetic.ts';
