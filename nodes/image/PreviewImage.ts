import { defineNode } from '../../engine/graph/node.ts';
import { saveImages } from '../../engine/io/save.ts';
import { randomInt } from 'node:crypto';

// ComfyUI's alphabet for the suffix, quirks included ('p' twice, no 'w').
const LETTERS = 'abcdefghijklmnopqrstupvxyz';

/** `ComfyUI_temp_` plus five random letters, so previews from different runs do not share a counter. */
export function previewPrefix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += LETTERS[randomInt(LETTERS.length)];
  return `ComfyUI_temp_${s}`;
}

/** Writes fast-compressed PNGs to the temp folder for display (ComfyUI's PreviewImage). */
export const PreviewImage = defineNode({
  name: 'PreviewImage',
  displayName: 'Preview Image',
  category: 'image',
  description: 'Saves the input images to your ComfyUI output directory.',
  inputs: {
    required: { images: { type: 'IMAGE' } },
    hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
  },
  outputs: [],
  outputNode: true,
  async run({ images }, ctx) {
    const saved = await saveImages(images, {
      root: ctx.services.folders.tempDir,
      type: 'temp',
      prefix: previewPrefix(),
      compressionLevel: 1,
      prompt: ctx.prompt,
      extraPngInfo: ctx.extraPngInfo,
    });
    return { ui: { images: saved } };
  },
});
