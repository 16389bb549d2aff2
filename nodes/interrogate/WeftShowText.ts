import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'WeftShowText',
  displayName: 'Show Text',
  category: 'utils',
  description: 'Shows a string on the node (ui.text) and passes it on.',
  inputs: {
    required: {
      text: { type: 'STRING', forceInput: true },
    },
  },
  outputs: [{ type: 'STRING', name: 'text' }],
  outputNode: true,
  run: ({ text }) => ({ ui: { text: [text] }, outputs: [text] }),
});
