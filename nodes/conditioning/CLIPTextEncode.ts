import { defineNode } from '../../engine/graph/node.ts';
import { asClipModel } from '../../engine/models/clip/model.ts';

export default defineNode({
  name: 'CLIPTextEncode',
  displayName: 'CLIP Text Encode (Prompt)',
  category: 'conditioning',
  inputs: {
    required: {
      text: { type: 'STRING', multiline: true, dynamicPrompts: true },
      clip: { type: 'CLIP' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run: async ({ text, clip }, ctx) => [await asClipModel(clip).encode(text, { warn: (m) => ctx.warn(m) })],
});
