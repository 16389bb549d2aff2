import type { NodeDef } from '../../engine/graph/node.ts';
import LoraLoader from './LoraLoader.ts';
import LoraLoaderModelOnly from './LoraLoaderModelOnly.ts';

export const nodes: NodeDef<any, any>[] = [
  LoraLoader,
  LoraLoaderModelOnly,
];
