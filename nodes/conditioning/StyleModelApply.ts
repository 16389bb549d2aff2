import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning } from '../../engine/tensor/conditioning.ts';
import { applyStyle, asStyleModel, type StrengthType } from '../../engine/models/style/index.ts';

/** Appends the style model's tokens for the image(s) to every entry's text tokens (ComfyUI's StyleModelApply). */
export default defineNode({
  name: 'StyleModelApply',
  displayName: 'Apply Style Model',
  category: 'conditioning/style_model',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      style_model: { type: 'STYLE_MODEL' },
      clip_vision_output: { type: 'CLIP_VISION_OUTPUT' },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.001 },
      strength_type: { type: 'COMBO', options: ['multiply', 'attn_bias'] },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run: async ({ conditioning, style_model, clip_vision_output, strength, strength_type }) => {
    const style = await asStyleModel(style_model).getCond(clip_vision_output);
    return [applyStyle(checkConditioning(conditioning, 'conditioning'), style, strength, strength_type as StrengthType)];
  },
});
