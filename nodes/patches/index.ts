import type { NodeDef } from '../../engine/graph/node.ts';
import FreeU from './FreeU.ts';
import FreeU_V2 from './FreeU_V2.ts';

export const nodes: NodeDef<any, any>[] = [
  FreeU,
  FreeU_V2,
];
