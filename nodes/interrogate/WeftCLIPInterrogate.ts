import { defineNode } from '../../engine/graph/node.ts';
import {
  builtinLists, interrogate, interrogatorCacheDir, INTERROGATE_MODES, mergeLists, parseList, readUserLists, sharedFullClip, userListFiles, type InterrogateMode,
} from '../../engine/models/interrogate/index.ts';
import { sliceBatch } from '../../engine/tensor/batch.ts';

export default defineNode({
  name: 'WeftCLIPInterrogate',
  displayName: 'CLIP Interrogate (image → prompt)',
  category: 'conditioning/interrogate',
  description: 'Ranks phrase lists (built-in, models/interrogator/*.txt, extra_phrases) against the image with a full CLIP model and builds a prompt.',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      clip_name: { type: 'COMBO', options: { kind: 'models', folder: 'clip' }, tooltip: 'A full CLIP model (both towers), e.g. openai clip-vit-large-patch14 model.safetensors' },
      mode: { type: 'COMBO', options: INTERROGATE_MODES, default: 'fast' },
      max_phrases: { type: 'INT', default: 12, min: 1, max: 32, tooltip: "'best' mode: most phrases in the prompt" },
    },
    optional: {
      extra_phrases: { type: 'STRING', multiline: true, default: '', tooltip: 'More candidates, one per line (a list of their own)' },
    },
  },
  outputs: [{ type: 'STRING', name: 'prompt' }],
  run: async ({ image, clip_name, mode, max_phrases, extra_phrases }, ctx) => {
    const { folders } = ctx.services;
    const clip = sharedFullClip(folders.resolveModel('clip', clip_name), ctx.services);
    const extra = parseList(extra_phrases ?? '');
    const lists = mergeLists(builtinLists(), [...readUserLists(userListFiles(folders)), { name: 'extra', phrases: extra }]);
    if (image.shape[0]! > 1) ctx.warn(`CLIP Interrogate describes the first of ${image.shape[0]} images`);
    const r = await interrogate(clip, sliceBatch(image, 0, 1), lists, { mode: mode as InterrogateMode, maxPhrases: max_phrases, cacheDir: interrogatorCacheDir(ctx.services), signal: ctx.signal });
    return [r.prompt];
  },
});
