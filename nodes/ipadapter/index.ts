import type { NodeDef } from '../../engine/graph/node.ts';
import IPAdapter from './IPAdapter.ts';
import IPAdapterAdvanced from './IPAdapterAdvanced.ts';
import IPAdapterModelLoader from './IPAdapterModelLoader.ts';
import IPAdapterUnifiedLoader from './IPAdapterUnifiedLoader.ts';

export const nodes: NodeDef<any, any>[] = [
  IPAdapter,
  IPAdapterAdvanced,
  IPAdapterModelLoader,
  IPAdapterUnifiedLoader,
];
