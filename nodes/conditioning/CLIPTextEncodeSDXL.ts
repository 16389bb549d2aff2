import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'CLIPTextEncodeSDXL',
  category: 'advanced/conditioning',
  inputs: {
    required: {
      clip: { type: 'CLIP' },
      width: { type: 'INT', default: 1024, min: 0, max: 16384 },
      height: { type: 'INT', default: 1024, min: 0, max: 16384 },
      crop_w: { type: 'INT', default: 0, min: 0, max: 16384 },
      crop_h: { type: 'INT', default: 0, min: 0, max: 16384 },
      target_width: { type: 'INT', default: 1024, min: 0, max: 16384 },
      target_height: { type: 'INT', default: 1024, min: 0, max: 16384 },
      text_g: { type: 'STRING', multiline: true, dynamicPrompts: true },
      text_l: { type: 'STRING', multiline: true, dynamicPrompts: true },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
