import { defineNode } from '../../engine/graph/node.ts';
import { asClipModel } from '../../engine/models/clip/model.ts';

/**
 * Chooses how prompt weights like (word:1.3) are applied by the CLIP text encoders downstream. A node rather
 * than a setting so the choice is saved in the workflow and the image's metadata, and CLIPTextEncode keeps
 * ComfyUI's exact inputs.
 */
export default defineNode({
  name: 'WeftCLIPSetWeighting',
  displayName: 'CLIP Prompt Weighting (Weft)',
  category: 'conditioning',
  description:
    'comfy: ComfyUI\'s formula, z = (z - z_empty) * w + z_empty. a1111: A1111\'s "original" emphasis, z * w, then each ' +
    '77-token chunk is rescaled so its mean equals the unweighted mean.',
  inputs: {
    required: {
      clip: { type: 'CLIP' },
      mode: { type: 'COMBO', options: ['comfy', 'a1111'], default: 'comfy' },
    },
  },
  outputs: [{ type: 'CLIP' }],
  run: ({ clip, mode }) => {
    const c = asClipModel(clip).clone();
    c.weighting = mode as 'comfy' | 'a1111';
    return [c];
  },
});
