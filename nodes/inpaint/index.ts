import type { NodeDef } from '../../engine/graph/node.ts';
import ImagePadForOutpaint from './ImagePadForOutpaint.ts';
import InpaintModelConditioning from './InpaintModelConditioning.ts';
import SetLatentNoiseMask from './SetLatentNoiseMask.ts';
import VAEEncodeForInpaint from './VAEEncodeForInpaint.ts';

export const nodes: NodeDef<any, any>[] = [
  ImagePadForOutpaint,
  InpaintModelConditioning,
  SetLatentNoiseMask,
  VAEEncodeForInpaint,
];
