import type { NodeDef } from '../../engine/graph/node.ts';
import ImageScaleToTotalPixels from './ImageScaleToTotalPixels.ts';
import ImageUpscaleWithModel from './ImageUpscaleWithModel.ts';
import UpscaleModelLoader from './UpscaleModelLoader.ts';

export const nodes: NodeDef<any, any>[] = [
  ImageScaleToTotalPixels,
  ImageUpscaleWithModel,
  UpscaleModelLoader,
];
