import { defineNode } from '../../engine/graph/node.ts';
import { asClipModel } from '../../engine/models/clip/model.ts';
import { appendTextBox, asGligen } from '../../engine/models/gligen/index.ts';
import { checkConditioning } from '../../engine/tensor/conditioning.ts';
import type { Tensor } from '../../engine/tensor/tensor.ts';

export default defineNode({
  name: 'GLIGENTextBoxApply',
  category: 'conditioning/gligen',
  inputs: {
    required: {
      conditioning_to: { type: 'CONDITIONING' },
      clip: { type: 'CLIP' },
      gligen_textbox_model: { type: 'GLIGEN' },
      text: { type: 'STRING', multiline: true, dynamicPrompts: true },
      width: { type: 'INT', default: 64, min: 8, max: 16384, step: 8 },
      height: { type: 'INT', default: 64, min: 8, max: 16384, step: 8 },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run: async ({ conditioning_to, clip, gligen_textbox_model, text, width, height, x, y }, ctx) => {
    const cond = checkConditioning(conditioning_to, 'conditioning_to');
    const m = asGligen(gligen_textbox_model);
    // ComfyUI encodes the box text with return_pooled="unprojected" and keeps only the pooled output.
    const [[, opts]] = await asClipModel(clip).encode(text, { warn: (w) => ctx.warn(w), unprojectedPooled: true });
    return [appendTextBox(cond, m, opts!.pooled_output as Tensor, { width, height, x, y })];
  },
});
