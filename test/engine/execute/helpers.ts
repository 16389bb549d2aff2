import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineNode } from '../../../engine/graph/node.ts';
import { NodeRegistry } from '../../../engine/graph/registry.ts';
import { createFolders } from '../../../engine/io/folders.ts';
import type { EngineServices } from '../../../engine/graph/context.ts';

/** Test nodes that count their calls, so tests can see exactly what ran. */
export function testNodes() {
  const calls: string[] = [];
  const Const = defineNode({
    name: 'Const',
    category: 'test',
    inputs: { required: { value: { type: 'INT', default: 0 } } },
    outputs: [{ type: 'INT' }],
    run: ({ value }, ctx) => {
      calls.push(`Const:${ctx.nodeId}`);
      return [value];
    },
  });
  const Add = defineNode({
    name: 'Add',
    category: 'test',
    inputs: { required: { a: { type: 'INT' }, b: { type: 'INT', default: 0 } } },
    outputs: [{ type: 'INT' }],
    run: ({ a, b }, ctx) => {
      calls.push(`Add:${ctx.nodeId}`);
      return [a + b];
    },
  });
  const Show = defineNode({
    name: 'Show',
    category: 'test',
    inputs: { required: { value: { type: 'INT' } } },
    outputs: [],
    outputNode: true,
    run: ({ value }, ctx) => {
      calls.push(`Show:${ctx.nodeId}`);
      return { ui: { values: [value] } };
    },
  });
  const Fail = defineNode({
    name: 'Fail',
    category: 'test',
    inputs: { required: { a: { type: 'INT' } } },
    outputs: [{ type: 'INT' }],
    run: ({ a }, ctx) => {
      calls.push(`Fail:${ctx.nodeId}`);
      throw new Error(`boom on ${a}`);
    },
  });
  const Loop = defineNode({
    name: 'Loop',
    category: 'test',
    inputs: { required: { steps: { type: 'INT', default: 1000 } } },
    outputs: [{ type: 'INT' }],
    run: async ({ steps }, ctx) => {
      calls.push(`Loop:${ctx.nodeId}`);
      for (let i = 0; i < steps; i++) {
        await new Promise((r) => setTimeout(r, 2));
        ctx.progress(i + 1, steps);
      }
      return [steps];
    },
  });
  const Range = defineNode({
    name: 'Range',
    category: 'test',
    inputs: { required: { n: { type: 'INT', default: 3 } } },
    outputs: [{ type: 'INT', isList: true }],
    run: ({ n }, ctx) => {
      calls.push(`Range:${ctx.nodeId}`);
      return [Array.from({ length: n }, (_, i) => i)];
    },
  });
  const Big = defineNode({
    name: 'Big',
    category: 'test',
    inputs: { required: { kb: { type: 'INT', default: 1 } } },
    outputs: [{ type: 'IMAGE' }],
    run: ({ kb }, ctx) => {
      calls.push(`Big:${ctx.nodeId}`);
      return [{ shape: [kb * 256], data: new Float32Array(kb * 256) }];
    },
  });
  const ShowImage = defineNode({
    name: 'ShowImage',
    category: 'test',
    inputs: { required: { image: { type: 'IMAGE' } } },
    outputs: [],
    outputNode: true,
    run: ({ image }, ctx) => {
      calls.push(`ShowImage:${ctx.nodeId}`);
      return { ui: { sizes: [image.data.length] } };
    },
  });
  const Volatile = defineNode({
    name: 'Volatile',
    category: 'test',
    inputs: { required: { value: { type: 'INT', default: 0 } } },
    outputs: [{ type: 'INT' }],
    isChanged: () => NaN,
    run: ({ value }, ctx) => {
      calls.push(`Volatile:${ctx.nodeId}`);
      return [value];
    },
  });
  const registry = new NodeRegistry().register(Const, Add, Show, Fail, Loop, Range, Big, ShowImage, Volatile);
  return { registry, calls };
}

const roots: string[] = [];
process.once('exit', () => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

export function tempServices(): EngineServices {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-exec-'));
  roots.push(root);
  return {
    folders: createFolders({ modelsDir: path.join(root, 'models'), inputDir: path.join(root, 'input'), outputDir: path.join(root, 'output'), tempDir: path.join(root, 'temp') }),
  };
}

/** Const(1) → Add(+b) → Show, ids chosen by the caller. */
export function chain(ids = ['1', '2', '3'], value = 1, b = 10) {
  const [c, a, s] = ids;
  return {
    [c]: { class_type: 'Const', inputs: { value } },
    [a]: { class_type: 'Add', inputs: { a: [c, 0], b } },
    [s]: { class_type: 'Show', inputs: { value: [a, 0] } },
  };
}
