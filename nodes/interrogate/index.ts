import type { NodeDef } from '../../engine/graph/node.ts';
import WeftCLIPInterrogate from './WeftCLIPInterrogate.ts';
import WeftShowText from './WeftShowText.ts';

export const nodes: NodeDef<any, any>[] = [WeftCLIPInterrogate, WeftShowText];
