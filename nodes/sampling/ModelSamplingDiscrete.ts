import { defineNode } from '../../engine/graph/node.ts';
import { WeftError } from '../../engine/errors.ts';
import { DiscreteModelSampling } from '../../engine/sampling/model-sampling.ts';
import { asSdModel } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'ModelSamplingDiscrete',
  category: 'advanced/model',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      sampling: { type: 'COMBO', options: ['eps', 'v_prediction', 'lcm', 'x0', 'img_to_img'] },
      zsnr: { type: 'BOOLEAN', default: false },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: ({ model, sampling, zsnr }) => {
    if ((sampling !== 'eps' && sampling !== 'v_prediction') || zsnr) {
      throw new WeftError(`sampling: "${sampling}"${zsnr ? ' with zsnr' : ''} is not implemented yet (eps and v_prediction are)`, { input: zsnr ? 'zsnr' : 'sampling', type: 'not_implemented' });
    }
    return [asSdModel(model).withModelSampling(new DiscreteModelSampling({ prediction: sampling }))];
  },
});
