import type { NodeDef } from '../../engine/graph/node.ts';
import CLIPTextEncodeFlux from './CLIPTextEncodeFlux.ts';
import FluxDisableGuidance from './FluxDisableGuidance.ts';
import FluxGuidance from './FluxGuidance.ts';
import ModelSamplingFlux from './ModelSamplingFlux.ts';

export const nodes: NodeDef<any, any>[] = [
  CLIPTextEncodeFlux,
  FluxDisableGuidance,
  FluxGuidance,
  ModelSamplingFlux,
];
