import { WeftError } from '../../engine/errors.ts';
import { defineNode } from '../../engine/graph/node.ts';
import { asIpAdapter, type WeightType } from '../../engine/models/ipadapter/index.ts';
import { runIpAdapter } from './run.ts';

/** The simple node's three presets, mapped as the reference maps them onto the advanced weight types. */
const SIMPLE_TYPES = ['standard', 'prompt is more important', 'style transfer'] as const;
const toAdvanced = (t: string): WeightType => (t.startsWith('style') ? 'style transfer' : t === 'prompt is more important' ? 'ease out' : 'linear');

export default defineNode({
  name: 'IPAdapter',
  displayName: 'IPAdapter',
  category: 'ipadapter',
  description: 'Needs the CLIP vision model bundled by IPAdapterUnifiedLoader; use IPAdapterAdvanced to connect one yourself.',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      ipadapter: { type: 'IPADAPTER' },
      image: { type: 'IMAGE' },
      weight: { type: 'FLOAT', default: 1.0, min: -1, max: 3, step: 0.05 },
      start_at: { type: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.001 },
      end_at: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.001 },
      weight_type: { type: 'COMBO', options: SIMPLE_TYPES },
    },
    optional: {
      attn_mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: async ({ weight_type, ...rest }, ctx) => {
    if (!asIpAdapter(rest.ipadapter).clipVision) {
      throw new WeftError('CLIPVision model not present in the pipeline. Please load the models with the IPAdapterUnifiedLoader node.', { input: 'ipadapter' });
    }
    return [await runIpAdapter({ ...rest, weight_type: toAdvanced(weight_type) }, ctx)];
  },
});
