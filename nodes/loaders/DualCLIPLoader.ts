import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'DualCLIPLoader',
  category: 'advanced/loaders',
  inputs: {
    required: {
      clip_name1: { type: 'COMBO', options: { kind: 'models', folder: 'text_encoders' } },
      clip_name2: { type: 'COMBO', options: { kind: 'models', folder: 'text_encoders' } },
      type: { type: 'COMBO', options: ['sdxl', 'sd3', 'flux', 'hunyuan_video', 'hidream', 'hunyuan_image', 'hunyuan_video_15', 'kandinsky5', 'kandinsky5_image', 'ltxv', 'newbie'] },
    },
    optional: {
      device: { type: 'COMBO', options: ['default', 'cpu'], advanced: true },
    },
  },
  outputs: [{ type: 'CLIP' }],
});
