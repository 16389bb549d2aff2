import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Executor } from '../../../engine/execute/executor.ts';
import { PromptQueue } from '../../../engine/execute/queue.ts';
import { chain, tempServices, testNodes } from './helpers.ts';

function setup(opts: { file?: string; paused?: boolean; maxHistory?: number; restoreRunning?: 'fail' | 'requeue' } = {}) {
  const { registry, calls } = testNodes();
  const executor = new Executor({ registry, services: tempServices() });
  const queue = new PromptQueue({ executor, ...opts });
  return { queue, calls, executor };
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const tmpFile = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-queue-'));
  dirs.push(d);
  return path.join(d, 'queue.json');
};

test('runs prompts one at a time and records ComfyUI-shaped history', async () => {
  const { queue } = setup();
  const events: string[] = [];
  queue.events.onAny((t, d) => events.push(t === 'executing' && (d as { node: string | null }).node === null ? 'executing:null' : String(t)));
  const { prompt_id, number } = queue.enqueue(chain(), { extraData: { client_id: 'c1', api_key_comfy_org: 'secret' }, outputs: ['3'] });
  assert.match(prompt_id, /^[0-9a-f-]{36}$/);
  assert.equal(number, 1);
  const h = await queue.waitFor(prompt_id);
  assert.deepEqual(h.prompt, [1, prompt_id, chain(), { client_id: 'c1' }, ['3']]);
  assert.deepEqual(h.outputs, { '3': { values: [11] } });
  assert.equal(h.status.status_str, 'success');
  assert.equal(h.status.completed, true);
  assert.deepEqual(h.status.messages.map((m) => m[0]), ['execution_start', 'execution_cached', 'execution_success']);
  assert.deepEqual(Object.keys(h.meta), ['3']);
  assert.equal(events.at(-1), 'executing:null');
  assert.ok(events.indexOf('execution_success') < events.indexOf('executing:null'));
  assert.deepEqual(Object.keys(queue.history()), [prompt_id]);
  await queue.close();
});

test('a failed prompt is recorded as an error and the queue moves on', async () => {
  const { queue } = setup({ paused: true });
  const bad = queue.enqueue({ '1': { class_type: 'Const', inputs: { value: 1 } }, '2': { class_type: 'Fail', inputs: { a: ['1', 0] } }, '3': { class_type: 'Show', inputs: { value: ['2', 0] } } });
  const good = queue.enqueue(chain());
  queue.resume();
  const hb = await queue.waitFor(bad.prompt_id);
  const hg = await queue.waitFor(good.prompt_id);
  assert.equal(hb.status.status_str, 'error');
  assert.equal(hb.status.messages.at(-1)?.[0], 'execution_error');
  assert.equal(hg.status.status_str, 'success');
  await queue.close();
});

test('front, pause/resume and reorder decide the running order', async () => {
  const { queue, calls } = setup({ paused: true });
  const a = queue.enqueue({ '1': { class_type: 'Const', inputs: { value: 1 } }, '9': { class_type: 'Show', inputs: { value: ['1', 0] } } });
  const b = queue.enqueue({ '1': { class_type: 'Const', inputs: { value: 2 } }, '9': { class_type: 'Show', inputs: { value: ['1', 0] } } });
  const c = queue.enqueue({ '1': { class_type: 'Const', inputs: { value: 3 } }, '9': { class_type: 'Show', inputs: { value: ['1', 0] } } }, { front: true });
  assert.deepEqual(queue.pending().map((i) => i.prompt_id), [c.prompt_id, a.prompt_id, b.prompt_id]);
  assert.ok(queue.move(b.prompt_id, 1));
  assert.deepEqual(queue.pending().map((i) => i.prompt_id), [c.prompt_id, b.prompt_id, a.prompt_id]);
  assert.deepEqual(queue.queueTuples().queue_pending.map((t) => t[1]), [c.prompt_id, b.prompt_id, a.prompt_id]);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(calls.length, 0, 'nothing runs while paused');
  queue.resume();
  await queue.waitFor(a.prompt_id);
  assert.deepEqual(calls.filter((x) => x.startsWith('Show')).length, 3);
  const h = queue.history();
  assert.deepEqual(Object.keys(h), [c.prompt_id, b.prompt_id, a.prompt_id]);
  await queue.close();
});

test('interrupt by id stops only the running prompt; the next one runs', async () => {
  const { queue } = setup();
  const loop = queue.enqueue({ '1': { class_type: 'Loop', inputs: { steps: 1000 } }, '2': { class_type: 'Show', inputs: { value: ['1', 0] } } });
  const next = queue.enqueue(chain());
  await new Promise<void>((resolve) => {
    const off = queue.events.on('progress', () => {
      off();
      resolve();
    });
  });
  assert.equal(queue.interrupt('not-running'), false);
  assert.equal(queue.interrupt(loop.prompt_id), true);
  const h = await queue.waitFor(loop.prompt_id);
  assert.equal(h.status.status_str, 'error');
  assert.equal(h.status.messages.at(-1)?.[0], 'execution_interrupted');
  assert.equal((await queue.waitFor(next.prompt_id)).status.status_str, 'success');
  await queue.close();
});

test('history is bounded and can be deleted or cleared', async () => {
  const { queue } = setup({ maxHistory: 2 });
  const ids = [1, 2, 3].map((v) => queue.enqueue(chain(['1', '2', '3'], v)).prompt_id);
  await queue.waitFor(ids[2]);
  assert.deepEqual(Object.keys(queue.history()), ids.slice(1));
  queue.deleteHistory([ids[1]]);
  assert.deepEqual(Object.keys(queue.history()), [ids[2]]);
  queue.clearHistory();
  assert.deepEqual(queue.history(), {});
  await queue.close();
});

test('queue and history persist across a restart; bigints stay exact', async () => {
  const file = tmpFile();
  const first = setup({ file });
  const done = first.queue.enqueue(chain());
  await first.queue.waitFor(done.prompt_id);
  first.queue.pause();
  const waiting = first.queue.enqueue({ '1': { class_type: 'Const', inputs: { value: 5 } }, '9': { class_type: 'Show', inputs: { value: ['1', 0] } } }, { extraData: { seed: 18446744073709551615n } });
  await first.queue.close();

  const second = setup({ file, paused: true });
  assert.deepEqual(Object.keys(second.queue.history()), [done.prompt_id]);
  assert.deepEqual(second.queue.pending().map((i) => i.prompt_id), [waiting.prompt_id]);
  assert.equal(second.queue.pending()[0].extra_data.seed, 18446744073709551615n);
  const third = second.queue.enqueue(chain(['1', '2', '3'], 7));
  assert.ok(third.number > waiting.number, 'numbers continue after a restart');
  second.queue.resume();
  assert.equal((await second.queue.waitFor(waiting.prompt_id)).status.status_str, 'success');
  await second.queue.close();
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['queue.json'], 'no temp files left behind');
});

test('a queue file from before bigints were written as plain JSON integers still loads', async () => {
  const file = tmpFile();
  const item = { number: 2, prompt_id: 'p-old', prompt: chain(), extra_data: { seed: { __bigint__: '18446744073709551615' } }, outputs: [] };
  fs.writeFileSync(file, JSON.stringify({ version: 1, counter: 2, pending: [item], running: null, history: [] }));
  const q = setup({ file, paused: true });
  assert.equal(q.queue.pending()[0].extra_data.seed, 18446744073709551615n);
  await q.queue.close();
  assert.match(fs.readFileSync(file, 'utf8'), /"seed":18446744073709551615\b/, 'written back as a plain integer');
});

test('a prompt running when the process died is marked failed (or re-queued when asked)', async () => {
  const file = tmpFile();
  const item = { number: 4, prompt_id: 'p-crash', prompt: chain(), extra_data: {}, outputs: [] };
  const saved = { version: 1, counter: 4, pending: [], running: item, history: [] };
  fs.writeFileSync(file, JSON.stringify(saved));
  const failed = setup({ file, paused: true });
  const h = failed.queue.historyItem('p-crash');
  assert.equal(h?.status.status_str, 'error');
  assert.match(String((h?.status.messages[0][1] as { exception_message: string }).exception_message), /stopped while this prompt was running/);
  await failed.queue.close();

  fs.writeFileSync(file, JSON.stringify(saved));
  const requeued = setup({ file, paused: true, restoreRunning: 'requeue' });
  assert.deepEqual(requeued.queue.pending().map((i) => i.prompt_id), ['p-crash']);
  requeued.queue.resume();
  assert.equal((await requeued.queue.waitFor('p-crash')).status.status_str, 'success');
  await requeued.queue.close();
});
