import { defineNode } from '../../engine/graph/node.ts';
import { WeftError } from '../../engine/errors.ts';
import { DiscreteModelSampling, type ModelSampling } from '../../engine/sampling/model-sampling.ts';
import { LcmModelSampling, X0ModelSampling } from '../../engine/sampling/model-sampling-lcm.ts';
import { asSdModel } from '../../engine/models/sd/index.ts';

function samplingFor(sampling: string): ModelSampling | null {
  switch (sampling) {
    case 'eps':
    case 'v_prediction':
      return new DiscreteModelSampling({ prediction: sampling });
    case 'lcm':
      return new LcmModelSampling();
    case 'x0':
      return new X0ModelSampling();
    default:
      return null;
  }
}

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
    const ms = zsnr ? null : samplingFor(sampling);
    if (!ms) {
      throw new WeftError(`sampling: "${sampling}"${zsnr ? ' with zsnr' : ''} is not implemented yet (eps, v_prediction, lcm and x0 are)`, { input: zsnr ? 'zsnr' : 'sampling', type: 'not_implemented' });
    }
    return [asSdModel(model).withModelSampling(ms)];
  },
});
