import { defineNode } from '../../engine/graph/node.ts';
import { asClipVision } from '../../engine/models/clip-vision/index.ts';

export default defineNode({
  name: 'CLIPVisionEncode',
  displayName: 'CLIP Vision Encode',
  category: 'conditioning',
  inputs: {
    required: {
      clip_vision: { type: 'CLIP_VISION' },
      image: { type: 'IMAGE' },
      crop: { type: 'COMBO', options: ['center', 'none'] },
    },
  },
  outputs: [{ type: 'CLIP_VISION_OUTPUT' }],
  run: async ({ clip_vision, image, crop }) => [await asClipVision(clip_vision).encodeImage(image, crop === 'none' ? 'none' : 'center')],
});
