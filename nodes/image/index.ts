import type { NodeDef } from '../../engine/graph/node.ts';
import { LoadImage } from './LoadImage.ts';
import { LoadImageMask } from './LoadImageMask.ts';
import { SaveImage } from './SaveImage.ts';
import { PreviewImage } from './PreviewImage.ts';
import { ImageScale } from './ImageScale.ts';
import { ImageScaleBy } from './ImageScaleBy.ts';
import { ImageInvert } from './ImageInvert.ts';

export { LoadImage, LoadImageMask, SaveImage, PreviewImage, ImageScale, ImageScaleBy, ImageInvert };

export const nodes: NodeDef<any, any>[] = [LoadImage, LoadImageMask, SaveImage, PreviewImage, ImageScale, ImageScaleBy, ImageInvert];
