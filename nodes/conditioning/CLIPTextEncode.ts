import { defineNode } from '../../engine/graph/node.ts';

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
});
