import type { NodeDef } from '../../engine/graph/node.ts';
import CLIPSetLastLayer from './CLIPSetLastLayer.ts';
import WeftCLIPSetWeighting from './WeftCLIPSetWeighting.ts';
import CLIPTextEncode from './CLIPTextEncode.ts';
import CLIPTextEncodeSDXL from './CLIPTextEncodeSDXL.ts';
import CLIPTextEncodeSDXLRefiner from './CLIPTextEncodeSDXLRefiner.ts';
import CLIPVisionEncode from './CLIPVisionEncode.ts';
import ConditioningAverage from './ConditioningAverage.ts';
import ConditioningCombine from './ConditioningCombine.ts';
import ConditioningConcat from './ConditioningConcat.ts';
import ConditioningSetArea from './ConditioningSetArea.ts';
import ConditioningSetAreaPercentage from './ConditioningSetAreaPercentage.ts';
import ConditioningSetAreaStrength from './ConditioningSetAreaStrength.ts';
import ConditioningSetMask from './ConditioningSetMask.ts';
import ConditioningSetTimestepRange from './ConditioningSetTimestepRange.ts';
import ConditioningZeroOut from './ConditioningZeroOut.ts';
import GLIGENTextBoxApply from './GLIGENTextBoxApply.ts';
import StyleModelApply from './StyleModelApply.ts';
import unCLIPConditioning from './unCLIPConditioning.ts';

export const nodes: NodeDef<any, any>[] = [
  CLIPSetLastLayer,
  CLIPTextEncode,
  CLIPTextEncodeSDXL,
  CLIPTextEncodeSDXLRefiner,
  CLIPVisionEncode,
  ConditioningAverage,
  ConditioningCombine,
  ConditioningConcat,
  ConditioningSetArea,
  ConditioningSetAreaPercentage,
  ConditioningSetAreaStrength,
  ConditioningSetMask,
  ConditioningSetTimestepRange,
  ConditioningZeroOut,
  GLIGENTextBoxApply,
  StyleModelApply,
  unCLIPConditioning,
  WeftCLIPSetWeighting,
];
