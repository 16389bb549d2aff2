/** Hypernetworks (ComfyUI's HypernetworkLoader): the file format and the patch on a MODEL's attention inputs. */
export { readHypernetwork, hypernetworkWeights, ACTIVATIONS, type Activation, type HnLayer, type Hypernetwork } from './file.ts';
export { applyHypernetwork, attentionWidths, emitModule, hypernetworkHook, type ApplyHypernetworkOptions } from './apply.ts';
