import { defineNode } from '../../engine/graph/node.ts';

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
});
