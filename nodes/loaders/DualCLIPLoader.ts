import { defineNode } from '../../engine/graph/node.ts';
import { safetensorsPathFor } from '../../engine/io/model-file.ts';
import { EmbeddingLibrary } from '../../engine/models/clip/embeddings.ts';
import { ClipModel } from '../../engine/models/clip/model.ts';
import { cacheDirOf } from '../../engine/models/sd/services.ts';
import { loadFluxClip } from '../../engine/models/flux-sd/load.ts';

export default defineNode({
  name: 'DualCLIPLoader',
  category: 'advanced/loaders',
  inputs: {
    required: {
      clip_name1: { type: 'COMBO', options: { kind: 'models', folder: 'text_encoders' } },
      clip_name2: { type: 'COMBO', options: { kind: 'models', folder: 'text_encoders' } },
      type: { type: 'COMBO', options: ['sdxl', 'sd3', 'flux', 'hunyuan_video', 'hidream', 'hunyuan_image', 'hunyuan_video_15', 'kandinsky5', 'kandinsky5_image', 'ltxv', 'newbie'] },
    },
    optional: {
      device: { type: 'COMBO', options: ['default', 'cpu'], advanced: true },
    },
  },
  outputs: [{ type: 'CLIP' }],
  run: ({ clip_name1, clip_name2, type }, ctx) => {
    const { folders } = ctx.services;
    const files = [clip_name1, clip_name2].map((n) => safetensorsPathFor(folders.resolveModel('text_encoders', n), cacheDirOf(ctx.services)));
    const embeddings = new EmbeddingLibrary(folders);
    // flux: clip_l + t5xxl in either order; the T5 tokenizer is looked up in the model folders on first encode.
    if (type === 'flux') return [loadFluxClip(files, { folders, embeddings, cacheDir: cacheDirOf(ctx.services), warn: (m: string) => ctx.warn(m) })];
    return [ClipModel.fromTextEncoders(files, type, { embeddings })];
  },
});
