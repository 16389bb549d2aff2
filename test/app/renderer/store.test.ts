import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAppStore, UNDO_LIMIT } from '../../../app/renderer/store.ts';

test('actions produce new frozen snapshots and leave untouched slices identical', () => {
  const store = createAppStore();
  const before = store.getState();
  store.getState().executed('9', [{ filename: 'a.png', subfolder: '', type: 'output' }]);
  const after = store.getState();
  assert.notEqual(after.outputs, before.outputs);
  assert.equal(after.queue, before.queue);
  assert.deepEqual(before.outputs, {});
  assert.ok(Object.isFrozen(after.outputs));
});

test('progress counts finished nodes as execution moves from node to node', () => {
  const store = createAppStore();
  const s = () => store.getState();
  s().executionStart('p1', 3);
  s().executing('p1', '1');
  assert.equal(s().progress.nodesDone, 0);
  s().executing('p1', '2');
  s().setProgress('2', 5, 10);
  assert.deepEqual({ ...s().progress }, { promptId: 'p1', node: '2', value: 5, max: 10, nodesDone: 1, nodesTotal: 3 });
  s().executed('3', [{ filename: 'x.png', subfolder: '', type: 'output' }]);
  s().finish('p1', 'success');
  assert.equal(s().progress.promptId, null);
  assert.equal(s().history[0].promptId, 'p1');
  assert.equal(s().history[0].images[0].filename, 'x.png');
  s().finish('p1', 'success');
  assert.equal(s().history.length, 1, 'a prompt is recorded once');
});

test('a node count that arrives after execution_start is applied only to that prompt', () => {
  const store = createAppStore();
  store.getState().executionStart('p1', 0);
  store.getState().setNodesTotal('other', 9);
  assert.equal(store.getState().progress.nodesTotal, 0);
  store.getState().setNodesTotal('p1', 4);
  assert.equal(store.getState().progress.nodesTotal, 4);
});

test('undo and redo walk snapshots; a new edit clears redo; identical snapshots are not recorded', () => {
  const store = createAppStore();
  const s = () => store.getState();
  assert.equal(s().undo('A'), null);
  s().record('A');
  s().record('A');
  s().record('B');
  assert.equal(s().undoStack.past.length, 2);
  assert.equal(s().undo('C'), 'B');
  assert.equal(s().undo('B'), 'A');
  assert.equal(s().undo('A'), null);
  assert.equal(s().redo('A'), 'B');
  s().record('B2');
  assert.equal(s().redo('X'), null, 'a new edit drops the redo stack');
});

test('the undo history keeps the last 50 steps', () => {
  const store = createAppStore();
  for (let i = 0; i < UNDO_LIMIT + 20; i++) store.getState().record(`s${i}`);
  const past = store.getState().undoStack.past;
  assert.equal(past.length, UNDO_LIMIT);
  assert.equal(past[0], 's20');
  assert.equal(past.at(-1), `s${UNDO_LIMIT + 19}`);
});

test('errors and settings', () => {
  const store = createAppStore();
  store.getState().setNodeErrors({ '1': { class_type: 'LoadImage', errors: [{ type: 'x', message: 'm', details: '' }] } }, 'refused');
  assert.equal(store.getState().message, 'refused');
  store.getState().clearErrors();
  assert.deepEqual(store.getState().nodeErrors, {});
  store.getState().updateSettings({ linkRenderMode: 'linear' });
  assert.equal(store.getState().settings.linkRenderMode, 'linear');
  assert.equal(store.getState().settings.showMinimap, true);
  store.getState().togglePanel('queue');
  store.getState().togglePanel('queue');
  assert.equal(store.getState().panel, null);
});
