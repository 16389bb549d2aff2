import type { NodeDef } from '../../engine/graph/node.ts';
import CropMask from './CropMask.ts';
import FeatherMask from './FeatherMask.ts';
import GrowMask from './GrowMask.ts';
import ImageColorToMask from './ImageColorToMask.ts';
import ImageToMask from './ImageToMask.ts';
import InvertMask from './InvertMask.ts';
import MaskComposite from './MaskComposite.ts';
import MaskToImage from './MaskToImage.ts';
import SolidMask from './SolidMask.ts';
import ThresholdMask from './ThresholdMask.ts';

export const nodes: NodeDef<any, any>[] = [
  CropMask,
  FeatherMask,
  GrowMask,
  ImageColorToMask,
  ImageToMask,
  InvertMask,
  MaskComposite,
  MaskToImage,
  SolidMask,
  ThresholdMask,
];
