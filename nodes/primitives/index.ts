import type { NodeDef } from '../../engine/graph/node.ts';

export const nodes: NodeDef<any, any>[] = [];
