import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_CHECKPOINT } from '../../../engine/models/demo.ts';
import { demoSwitches, historyFromServer, isDemoCheckpoint, mergeHistory, needsModels, usesDemo } from '../../../app/renderer/first-run.ts';
import type { RawHistoryItem } from '../../../app/renderer/api.ts';

test('the renderer recognises the checkpoint name `weft serve` writes as the demo', () => {
  assert.equal(isDemoCheckpoint(DEMO_CHECKPOINT), true);
  assert.equal(isDemoCheckpoint('v1-5-pruned-emaonly-fp16.safetensors'), false);
  assert.equal(isDemoCheckpoint(undefined), false);
});

test('the model manager opens while no real checkpoint is installed', () => {
  assert.equal(needsModels([]), true);
  assert.equal(needsModels([DEMO_CHECKPOINT]), true);
  assert.equal(needsModels([DEMO_CHECKPOINT, 'real.safetensors']), false);
});

test('checkpoint widgets switch to the demo only when it is the only checkpoint', () => {
  const widgets = [{ nodeId: '4', value: 'v1-5-pruned-emaonly-fp16.safetensors' }, { nodeId: '12', value: DEMO_CHECKPOINT }];
  assert.deepEqual(demoSwitches(widgets, [DEMO_CHECKPOINT]), [{ nodeId: '4', to: DEMO_CHECKPOINT }]);
  assert.deepEqual(demoSwitches(widgets, [DEMO_CHECKPOINT, 'real.safetensors']), [], 'a real model installed: leave the choice alone');
  assert.deepEqual(demoSwitches(widgets, ['real.safetensors']), []);
  assert.deepEqual(demoSwitches(widgets, []), []);
  assert.equal(usesDemo(widgets), true);
  assert.equal(usesDemo([{ nodeId: '4', value: 'real.safetensors' }]), false);
});

test('server history becomes newest-first items with images, the UI workflow, or the API prompt', () => {
  const wf = { nodes: [], links: [] };
  const raw: Record<string, RawHistoryItem> = {
    old: {
      prompt: [1, 'old', { '1': { class_type: 'X', inputs: {} } } as never, { extra_pnginfo: { workflow: wf } }, ['9']],
      outputs: { '9': { images: [{ filename: 'a.png', subfolder: '', type: 'output' }] } },
      status: { status_str: 'success', completed: true },
    },
    failed: {
      prompt: [2, 'failed', { '1': { class_type: 'X', inputs: {} } } as never, {}, ['9']],
      outputs: {},
      status: { status_str: 'error', completed: false },
    },
  };
  const items = historyFromServer(raw);
  assert.deepEqual(items.map((i) => [i.promptId, i.status]), [['failed', 'error'], ['old', 'success']]);
  assert.deepEqual(items[1]!.images.map((i) => i.filename), ['a.png']);
  assert.equal(items[1]!.workflow, wf);
  assert.equal(items[0]!.workflow, undefined);
  assert.deepEqual(items[0]!.prompt, { '1': { class_type: 'X', inputs: {} } });
  const merged = mergeHistory([{ promptId: 'old', status: 'success', images: [] }], items);
  assert.deepEqual(merged.map((i) => i.promptId), ['old', 'failed'], 'the live item wins; no duplicates');
});
