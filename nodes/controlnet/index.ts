import type { NodeDef } from '../../engine/graph/node.ts';
import Canny from './Canny.ts';
import ControlNetApply from './ControlNetApply.ts';
import ControlNetApplyAdvanced from './ControlNetApplyAdvanced.ts';
import ControlNetLoader from './ControlNetLoader.ts';
import DiffControlNetLoader from './DiffControlNetLoader.ts';
import SetUnionControlNetType from './SetUnionControlNetType.ts';
import WeftScribble from './WeftScribble.ts';
import WeftThreshold from './WeftThreshold.ts';

export const nodes: NodeDef<any, any>[] = [
  Canny,
  ControlNetApply,
  ControlNetApplyAdvanced,
  ControlNetLoader,
  DiffControlNetLoader,
  SetUnionControlNetType,
  WeftScribble,
  WeftThreshold,
];
