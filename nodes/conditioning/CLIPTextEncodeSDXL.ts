import { defineNode } from '../../engine/graph/node.ts';
import { asClipModel } from '../../engine/models/clip/model.ts';

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
  run: async (i, ctx) => [
    await asClipModel(i.clip).encodeSdxl(i.text_g, i.text_l, {
      width: i.width, height: i.height, cropW: i.crop_w, cropH: i.crop_h, targetWidth: i.target_width, targetHeight: i.target_height,
    }, { warn: (m) => ctx.warn(m) }),
  ],
});
