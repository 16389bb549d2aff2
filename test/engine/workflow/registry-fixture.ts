import { defineNode, type NodeDef } from '../../../engine/graph/node.ts';
import type { NodeRegistry } from '../../../engine/graph/registry.ts';
import { createRegistry } from '../../../nodes/index.ts';

/**
 * The real registry. LoadImage, SaveImage and PreviewImage are written by another engineer in
 * nodes/image; until they land, these stand-ins carry ComfyUI's schema for them so the conversion
 * tests can run. Once the real ones are registered, the real ones are used.
 */
const standIns: NodeDef<any, any>[] = [
  defineNode({
    name: 'LoadImage', displayName: 'Load Image', category: 'image',
    inputs: { required: { image: { type: 'COMBO', options: { kind: 'input', images: true }, image_upload: true } } },
    outputs: [{ type: 'IMAGE' }, { type: 'MASK' }],
  }),
  defineNode({
    name: 'SaveImage', displayName: 'Save Image', category: 'image', outputNode: true,
    inputs: { required: { images: { type: 'IMAGE' }, filename_prefix: { type: 'STRING', default: 'ComfyUI' } }, hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' } },
    outputs: [],
  }),
  defineNode({
    name: 'PreviewImage', displayName: 'Preview Image', category: 'image', outputNode: true,
    inputs: { required: { images: { type: 'IMAGE' } }, hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' } },
    outputs: [],
  }),
];

export function testRegistry(): NodeRegistry {
  const r = createRegistry();
  for (const d of standIns) if (!r.has(d.name)) r.register(d);
  return r;
}
