import type { NodeDef } from '../engine/graph/node.ts';
import { NodeRegistry } from '../engine/graph/registry.ts';
import { nodes as conditioning } from './conditioning/index.ts';
import { nodes as controlnet } from './controlnet/index.ts';
import { nodes as flux } from './flux/index.ts';
import { nodes as image } from './image/index.ts';
import { nodes as imageops } from './imageops/index.ts';
import { nodes as inpaint } from './inpaint/index.ts';
import { nodes as interrogate } from './interrogate/index.ts';
import { nodes as ipadapter } from './ipadapter/index.ts';
import { nodes as latent } from './latent/index.ts';
import { nodes as loaders } from './loaders/index.ts';
import { nodes as lora } from './lora/index.ts';
import { nodes as mask } from './mask/index.ts';
import { nodes as patches } from './patches/index.ts';
import { nodes as primitives } from './primitives/index.ts';
import { nodes as sampling } from './sampling/index.ts';
import { nodes as upscale } from './upscale/index.ts';

/** Every node type Weft declares, all families. */
export const allNodes: NodeDef<any, any>[] = [
  ...loaders, ...lora, ...conditioning, ...sampling, ...latent, ...inpaint, ...controlnet, ...upscale,
  ...flux, ...mask, ...imageops, ...patches, ...image, ...primitives, ...interrogate, ...ipadapter,
];

export function createRegistry(): NodeRegistry {
  return new NodeRegistry().register(...allNodes);
}
