import { defineNode } from '../../engine/graph/node.ts';
import { asControlNet } from '../../engine/models/controlnet/socket.ts';
import { setUnionControlNetType, UNION_TYPE_OPTIONS } from '../../engine/models/controlnet/union.ts';

/** ComfyUI's SetUnionControlNetType (comfy_extras/nodes_controlnet.py). */
export default defineNode({
  name: 'SetUnionControlNetType',
  category: 'conditioning/controlnet',
  description:
    'Chooses which kind of hint a ControlNet Union (xinsir controlnet-union-sdxl-1.0 / ProMax) reads the image as. ' +
    '"auto" leaves the type unset, as a union ControlNet straight from the loader is.',
  inputs: {
    required: {
      control_net: { type: 'CONTROL_NET' },
      type: { type: 'COMBO', options: [...UNION_TYPE_OPTIONS] },
    },
  },
  outputs: [{ type: 'CONTROL_NET' }],
  run: ({ control_net, type }, ctx) => [setUnionControlNetType(asControlNet(control_net), type, (m) => ctx.warn(m))],
});
