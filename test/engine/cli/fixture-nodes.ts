/** Small nodes for the CLI tests, loaded into the real `weft` command through WEFT_NODE_MODULES. */
import fs from 'node:fs';
import path from 'node:path';
import { defineNode, type NodeDef } from '../../../engine/graph/node.ts';

const Const = defineNode({
  name: 'TestCliConst',
  category: 'test',
  inputs: { required: { value: { type: 'INT', default: 1, min: 0, max: 100 } } },
  outputs: [{ type: 'INT' }],
  run: ({ value }) => [value],
});

const Steps = defineNode({
  name: 'TestCliSteps',
  category: 'test',
  inputs: { required: { value: { type: 'INT' }, steps: { type: 'INT', default: 3 } } },
  outputs: [{ type: 'INT' }],
  run: async ({ value, steps }, ctx) => {
    for (let i = 1; i <= steps; i++) {
      await new Promise((r) => setTimeout(r, 1));
      ctx.progress(i, steps);
    }
    return [value * 2];
  },
});

const Save = defineNode({
  name: 'TestCliSave',
  category: 'test',
  inputs: { required: { value: { type: 'INT' }, filename_prefix: { type: 'STRING', default: 'weft' } } },
  outputs: [],
  outputNode: true,
  run: ({ value, filename_prefix }, ctx) => {
    const filename = `${filename_prefix}_${value}.txt`;
    fs.mkdirSync(ctx.services.folders.outputDir, { recursive: true });
    fs.writeFileSync(path.join(ctx.services.folders.outputDir, filename), String(value));
    return { ui: { images: [{ filename, subfolder: '', type: 'output' }] } };
  },
});

const Fail = defineNode({
  name: 'TestCliFail',
  category: 'test',
  inputs: { required: { value: { type: 'INT' } } },
  outputs: [{ type: 'INT' }],
  run: () => {
    throw new Error('deliberate failure');
  },
});

export const nodes: NodeDef<any, any>[] = [Const, Steps, Save, Fail];
