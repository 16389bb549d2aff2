import { defineNode } from '../../engine/graph/node.ts';
import { saveImages } from '../../engine/io/save.ts';

/** Writes PNGs with the prompt and workflow embedded to the output folder (ComfyUI's SaveImage). */
export const SaveImage = defineNode({
  name: 'SaveImage',
  displayName: 'Save Image',
  category: 'image',
  description: 'Saves the input images to your ComfyUI output directory.',
  inputs: {
    required: {
      images: { type: 'IMAGE', tooltip: 'The images to save.' },
      filename_prefix: {
        type: 'STRING',
        default: 'ComfyUI',
        tooltip:
          'The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.',
      },
    },
    hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
  },
  outputs: [],
  outputNode: true,
  async run({ images, filename_prefix }, ctx) {
    const saved = await saveImages(images, {
      root: ctx.services.folders.outputDir,
      type: 'output',
      prefix: filename_prefix,
      compressionLevel: 4,
      prompt: ctx.prompt,
      extraPngInfo: ctx.extraPngInfo,
    });
    return { ui: { images: saved } };
  },
});
