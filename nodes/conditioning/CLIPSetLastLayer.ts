import { defineNode } from '../../engine/graph/node.ts';
import { asClipModel } from '../../engine/models/clip/model.ts';

export default defineNode({
  name: 'CLIPSetLastLayer',
  displayName: 'CLIP Set Last Layer',
  category: 'conditioning',
  inputs: {
    required: {
      clip: { type: 'CLIP' },
      stop_at_clip_layer: { type: 'INT', default: -1, min: -24, max: -1, step: 1 },
    },
  },
  outputs: [{ type: 'CLIP' }],
  run: ({ clip, stop_at_clip_layer }) => [asClipModel(clip).setLastLayer(stop_at_clip_layer)],
});
