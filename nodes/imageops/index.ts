import type { NodeDef } from '../../engine/graph/node.ts';
import EmptyImage from './EmptyImage.ts';
import ImageBatch from './ImageBatch.ts';
import ImageBlend from './ImageBlend.ts';
import ImageBlur from './ImageBlur.ts';
import ImageCompositeMasked from './ImageCompositeMasked.ts';
import ImageCrop from './ImageCrop.ts';
import ImageFromBatch from './ImageFromBatch.ts';
import ImageQuantize from './ImageQuantize.ts';
import ImageSharpen from './ImageSharpen.ts';
import RepeatImageBatch from './RepeatImageBatch.ts';

export const nodes: NodeDef<any, any>[] = [
  EmptyImage,
  ImageBatch,
  ImageBlend,
  ImageBlur,
  ImageCompositeMasked,
  ImageCrop,
  ImageFromBatch,
  ImageQuantize,
  ImageSharpen,
  RepeatImageBatch,
];
