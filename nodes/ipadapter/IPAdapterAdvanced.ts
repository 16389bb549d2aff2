import { defineNode } from '../../engine/graph/node.ts';
import { COMBINE_EMBEDS, EMBEDS_SCALING, WEIGHT_TYPES } from '../../engine/models/ipadapter/index.ts';
import { runIpAdapter } from './run.ts';

export default defineNode({
  name: 'IPAdapterAdvanced',
  displayName: 'IPAdapter Advanced',
  category: 'ipadapter',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      ipadapter: { type: 'IPADAPTER' },
      image: { type: 'IMAGE' },
      weight: { type: 'FLOAT', default: 1.0, min: -1, max: 5, step: 0.05 },
      weight_type: { type: 'COMBO', options: WEIGHT_TYPES },
      combine_embeds: { type: 'COMBO', options: COMBINE_EMBEDS },
      start_at: { type: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.001 },
      end_at: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.001 },
      embeds_scaling: { type: 'COMBO', options: EMBEDS_SCALING },
    },
    optional: {
      image_negative: { type: 'IMAGE' },
      attn_mask: { type: 'MASK' },
      clip_vision: { type: 'CLIP_VISION' },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: async (i, ctx) => [await runIpAdapter(i, ctx)],
});
