import type { NodeDef } from '../../engine/graph/node.ts';
import { PrimitiveInt } from './PrimitiveInt.ts';
import { PrimitiveFloat } from './PrimitiveFloat.ts';
import { PrimitiveString } from './PrimitiveString.ts';
import { PrimitiveStringMultiline } from './PrimitiveStringMultiline.ts';
import { PrimitiveBoolean } from './PrimitiveBoolean.ts';

export { PrimitiveInt, PrimitiveFloat, PrimitiveString, PrimitiveStringMultiline, PrimitiveBoolean };

export const nodes: NodeDef<any, any>[] = [PrimitiveString, PrimitiveStringMultiline, PrimitiveInt, PrimitiveFloat, PrimitiveBoolean];
