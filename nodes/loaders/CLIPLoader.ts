import { defineNode } from '../../engine/graph/node.ts';
import { safetensorsPathFor } from '../../engine/io/model-file.ts';
import { EmbeddingLibrary } from '../../engine/models/clip/embeddings.ts';
import { ClipModel } from '../../engine/models/clip/model.ts';
import { cacheDirOf } from '../../engine/models/sd/services.ts';
import { isT5File, refuseLoneT5 } from '../../engine/models/flux-sd/load.ts';

export default defineNode({
  name: 'CLIPLoader',
  displayName: 'Load CLIP',
  category: 'advanced/loaders',
  inputs: {
    required: {
      clip_name: { type: 'COMBO', options: { kind: 'models', folder: 'text_encoders' } },
      type: { type: 'COMBO', options: ['stable_diffusion', 'stable_cascade', 'sd3', 'stable_audio', 'mochi', 'ltxv', 'pixart', 'cosmos', 'lumina2', 'wan', 'hidream', 'chroma', 'ace', 'omnigen2', 'qwen_image', 'hunyuan_image', 'flux2', 'ovis'] },
    },
    optional: {
      device: { type: 'COMBO', options: ['default', 'cpu'], advanced: true },
    },
  },
  outputs: [{ type: 'CLIP' }],
  run: ({ clip_name, type }, ctx) => {
    const { folders } = ctx.services;
    const file = safetensorsPathFor(folders.resolveModel('text_encoders', clip_name), cacheDirOf(ctx.services));
    // A T5 alone is ComfyUI's SD3 / PixArt / Chroma text encoder: say so instead of failing as "not a CLIP".
    if (isT5File(file)) refuseLoneT5(clip_name, type);
    return [ClipModel.fromTextEncoders([file], type, { embeddings: new EmbeddingLibrary(folders) })];
  },
});
