import { defineNode } from '../../engine/graph/node.ts';
import { asFluxClip } from '../../engine/models/flux-sd/clip.ts';

/** clip_l text → pooled_output, t5xxl text → the T5 conditioning, guidance stored for the dev model. */
export default defineNode({
  name: 'CLIPTextEncodeFlux',
  category: 'advanced/conditioning/flux',
  inputs: {
    required: {
      clip: { type: 'CLIP' },
      clip_l: { type: 'STRING', multiline: true, dynamicPrompts: true },
      t5xxl: { type: 'STRING', multiline: true, dynamicPrompts: true },
      guidance: { type: 'FLOAT', default: 3.5, min: 0.0, max: 100.0, step: 0.1 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run: async ({ clip, clip_l, t5xxl, guidance }, ctx) => [await asFluxClip(clip).encodeFlux(clip_l, t5xxl, guidance, { warn: (m) => ctx.warn(m) })],
});
