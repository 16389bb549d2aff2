import path from 'node:path';
import { defineNode } from '../../engine/graph/node.ts';
import { safetensorsPathFor } from '../../engine/io/model-file.ts';
import { IpAdapterModel } from '../../engine/models/ipadapter/index.ts';
import { cacheDirOf } from '../../engine/models/sd/services.ts';

export default defineNode({
  name: 'IPAdapterModelLoader',
  displayName: 'IPAdapter Model Loader',
  category: 'ipadapter/loaders',
  inputs: {
    required: {
      ipadapter_file: { type: 'COMBO', options: { kind: 'models', folder: 'ipadapter' } },
    },
  },
  outputs: [{ type: 'IPADAPTER' }],
  // PyTorch .bin adapters are converted once to safetensors so ORT can map their weights.
  run: ({ ipadapter_file }, ctx) => [IpAdapterModel.open(safetensorsPathFor(ctx.services.folders.resolveModel('ipadapter', ipadapter_file), path.join(cacheDirOf(ctx.services), 'ipadapter')))],
});
