import { defineNode } from '../../engine/graph/node.ts';
import { decodeImageFile } from '../../engine/tensor/image.ts';
import { inputFileExists, inputFileHash } from './input-file.ts';

/** Loads an input-folder image as IMAGE and its inverted alpha as MASK (ComfyUI's LoadImage). */
export const LoadImage = defineNode({
  name: 'LoadImage',
  displayName: 'Load Image',
  category: 'image',
  inputs: {
    required: {
      image: { type: 'COMBO', options: { kind: 'input', images: true }, image_upload: true },
    },
  },
  outputs: [{ type: 'IMAGE' }, { type: 'MASK' }],
  // ComfyUI skips the combo membership check here: annotated names ("x.png [output]") are valid too.
  validates: ['image'],
  validate: inputFileExists,
  isChanged: inputFileHash,
  async run({ image }, ctx) {
    const file = ctx.services.folders.resolveInput(image);
    const { image: pixels, mask } = await decodeImageFile(file, image);
    return [pixels, mask];
  },
});
