import type { NodeDef } from '../../engine/graph/node.ts';
import EmptyLatentImage from './EmptyLatentImage.ts';
import EmptySD3LatentImage from './EmptySD3LatentImage.ts';
import LatentBlend from './LatentBlend.ts';
import LatentComposite from './LatentComposite.ts';
import LatentCompositeMasked from './LatentCompositeMasked.ts';
import LatentCrop from './LatentCrop.ts';
import LatentFlip from './LatentFlip.ts';
import LatentFromBatch from './LatentFromBatch.ts';
import LatentRotate from './LatentRotate.ts';
import LatentUpscale from './LatentUpscale.ts';
import LatentUpscaleBy from './LatentUpscaleBy.ts';
import RepeatLatentBatch from './RepeatLatentBatch.ts';
import VAEDecode from './VAEDecode.ts';
import VAEDecodeTiled from './VAEDecodeTiled.ts';
import VAEEncode from './VAEEncode.ts';
import VAEEncodeTiled from './VAEEncodeTiled.ts';

export const nodes: NodeDef<any, any>[] = [
  EmptyLatentImage,
  EmptySD3LatentImage,
  LatentBlend,
  LatentComposite,
  LatentCompositeMasked,
  LatentCrop,
  LatentFlip,
  LatentFromBatch,
  LatentRotate,
  LatentUpscale,
  LatentUpscaleBy,
  RepeatLatentBatch,
  VAEDecode,
  VAEDecodeTiled,
  VAEEncode,
  VAEEncodeTiled,
];
