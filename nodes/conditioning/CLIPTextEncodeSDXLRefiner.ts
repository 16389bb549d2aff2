import { defineNode } from '../../engine/graph/node.ts';
import { asClipModel } from '../../engine/models/clip/model.ts';

export default defineNode({
  name: 'CLIPTextEncodeSDXLRefiner',
  category: 'advanced/conditioning',
  inputs: {
    required: {
      ascore: { type: 'FLOAT', default: 6.0, min: 0.0, max: 1000.0, step: 0.01 },
      width: { type: 'INT', default: 1024, min: 0, max: 16384 },
      height: { type: 'INT', default: 1024, min: 0, max: 16384 },
      text: { type: 'STRING', multiline: true, dynamicPrompts: true },
      clip: { type: 'CLIP' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run: async ({ ascore, width, height, text, clip }, ctx) => [
    await asClipModel(clip).encodeRefiner(text, ascore, width, height, { warn: (m) => ctx.warn(m) }),
  ],
});
