import { defineNode } from '../../engine/graph/node.ts';
import { WeftError, errorMessage } from '../../engine/errors.ts';
import { decodeMaskChannel, type MaskChannel } from '../../engine/tensor/image.ts';
import { readFile } from 'node:fs/promises';
import { inputFileExists, inputFileHash } from './input-file.ts';

/** One channel of an input-folder image as MASK; alpha is inverted (ComfyUI's LoadImageMask). */
export const LoadImageMask = defineNode({
  name: 'LoadImageMask',
  displayName: 'Load Image (as Mask)',
  category: 'mask',
  inputs: {
    required: {
      image: { type: 'COMBO', options: { kind: 'input' }, image_upload: true },
      channel: { type: 'COMBO', options: ['alpha', 'red', 'green', 'blue'] },
    },
  },
  outputs: [{ type: 'MASK' }],
  validates: ['image'],
  validate: inputFileExists,
  isChanged: inputFileHash,
  async run({ image, channel }, ctx) {
    const file = ctx.services.folders.resolveInput(image);
    const bytes = await readFile(file).catch((e) => {
      throw new WeftError(`cannot read ${image}: ${errorMessage(e)}`, { type: 'file_not_found', input: 'image', file: image });
    });
    return [await decodeMaskChannel(bytes, channel as MaskChannel, image)];
  },
});
