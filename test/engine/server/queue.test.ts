/** Queue control over HTTP: pause/resume/move/delete/clear, interrupt, progress + binary previews, history, persistence. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from '../../../engine/server/index.ts';
import { WsClient, done, makeDirs, start, testRegistry, wsUrl } from './helpers.ts';

let ctx: Awaited<ReturnType<typeof start>>;
let url: string;
before(async () => {
  ctx = await start();
  url = ctx.server.url;
});
after(() => ctx.stop());

const post = async (p: string, body: unknown = {}) => {
  const r = await fetch(url + p, { method: 'POST', body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
};
const pendingIds = async () => ((await (await fetch(`${url}/queue`)).json()) as { queue_pending: unknown[][] }).queue_pending.map((t) => t[1]);
const steps = (n: number, delay = 0) => ({ '1': { class_type: 'WeftTestSteps', inputs: { steps: n, delay_ms: delay } } });

test('pause, move, front, delete and clear act on pending prompts; resume runs what is left', async () => {
  assert.deepEqual((await post('/queue/pause')).body, { paused: true });
  for (const id of ['q1', 'q2', 'q3']) assert.equal((await post('/prompt', { prompt: steps(1), prompt_id: id })).status, 200);
  const q = (await (await fetch(`${url}/api/queue`)).json()) as { queue_running: unknown[]; queue_pending: unknown[][] };
  assert.deepEqual(q.queue_running, []);
  assert.deepEqual(q.queue_pending.map((t) => t[1]), ['q1', 'q2', 'q3']);
  const [number, id, prompt, extra, outputs] = q.queue_pending[0] as [number, string, any, object, string[]];
  assert.equal(typeof number, 'number');
  assert.equal(id, 'q1');
  assert.equal(prompt['1'].class_type, 'WeftTestSteps');
  assert.deepEqual(extra, {});
  assert.deepEqual(outputs, ['1']);
  assert.deepEqual((await fetch(`${url}/prompt`).then((r) => r.json())), { exec_info: { queue_remaining: 3 } });

  assert.deepEqual((await post('/queue/move', { prompt_id: 'q3', index: 0 })).body, { queue_pending: ['q3', 'q1', 'q2'] });
  assert.equal((await post('/queue/move', { prompt_id: 'nope', index: 0 })).status, 404);
  assert.equal((await post('/prompt', { prompt: steps(1), prompt_id: 'q4', front: true })).status, 200);
  assert.deepEqual(await pendingIds(), ['q4', 'q3', 'q1', 'q2']);
  assert.equal((await post('/queue', { delete: ['q1', 'unknown'] })).status, 200);
  assert.deepEqual(await pendingIds(), ['q4', 'q3', 'q2']);
  assert.equal((await post('/queue', { clear: true })).status, 200);
  assert.deepEqual(await pendingIds(), []);

  await post('/prompt', { prompt: steps(1), prompt_id: 'q5' });
  assert.deepEqual((await post('/queue/resume')).body, { paused: false });
  const entry = await ctx.server.queue.waitFor('q5');
  assert.equal(entry.status.status_str, 'success');
  for (const gone of ['q1', 'q2', 'q3', 'q4']) assert.equal(ctx.server.queue.historyItem(gone), undefined);
});

test('progress and PREVIEW_IMAGE frames reach the client; a reconnect learns the running node; interrupt stops it', async () => {
  const ws = await WsClient.open(wsUrl(url, 'runner'));
  let second: WsClient | undefined;
  try {
    const r = await post('/prompt', { prompt: steps(100000, 5), client_id: 'runner' });
    const id = r.body.prompt_id as string;
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id && m.data.value >= 2);
    const p = ws.messages.find((m) => m.type === 'progress')!;
    assert.deepEqual(Object.keys(p.data).sort(), ['max', 'node', 'prompt_id', 'value']);
    assert.equal(p.data.node, '1');
    assert.ok(ws.binary.length >= 1);
    const frame = ws.binary[0];
    assert.equal(frame.readUInt32BE(0), 1, 'event type PREVIEW_IMAGE');
    assert.equal(frame.readUInt32BE(4), 1, 'image type JPEG');
    assert.deepEqual([...frame.subarray(8, 11)], [0xff, 0xd8, 0xff]);

    second = await WsClient.open(wsUrl(url, 'runner'));
    const resumed = await second.waitFor((m) => m.type === 'executing');
    assert.deepEqual(resumed.data, { node: '1', display_node: '1', prompt_id: id });

    // An interrupt naming another prompt leaves this one running (ComfyUI's rule).
    assert.equal((await post('/interrupt', { prompt_id: 'someone-else' })).status, 200);
    const seen = ws.messages.length;
    await ws.waitFor((m) => m.type === 'progress' && ws.messages.indexOf(m) > seen);
    assert.equal(ctx.server.queue.running()?.prompt_id, id);

    assert.equal((await post('/api/interrupt')).status, 200);
    const intr = await ws.waitFor((m) => m.type === 'execution_interrupted' && m.data.prompt_id === id);
    assert.equal(intr.data.node_id, '1');
    assert.equal(intr.data.node_type, 'WeftTestSteps');
    await ws.waitFor(done(id));
    assert.equal(ctx.server.queue.historyItem(id)?.status.status_str, 'error');
  } finally {
    ws.close();
    second?.close();
  }
});

test('extra_data.preview_method "none" (as ComfyUI clients send it) turns the binary preview frames off', async () => {
  const ws = await WsClient.open(wsUrl(url, 'quiet'));
  try {
    const r = await post('/prompt', { prompt: steps(3), client_id: 'quiet', extra_data: { preview_method: 'none' } });
    const id = r.body.prompt_id as string;
    await ws.waitFor(done(id));
    assert.ok(ws.messages.some((m) => m.type === 'progress' && m.data.prompt_id === id), 'progress still reported');
    assert.equal(ws.binary.length, 0, 'no preview frames');
  } finally {
    ws.close();
  }
});

test('POST /history deletes one entry or clears all', async () => {
  for (const id of ['h1', 'h2']) {
    await post('/prompt', { prompt: steps(1), prompt_id: id });
    await ctx.server.queue.waitFor(id);
  }
  const two = (await (await fetch(`${url}/history?max_items=2`)).json()) as object;
  assert.deepEqual(Object.keys(two), ['h1', 'h2']);
  assert.equal((await post('/history', { delete: ['h1'] })).status, 200);
  assert.deepEqual(await (await fetch(`${url}/history/h1`)).json(), {});
  assert.ok('h2' in ((await (await fetch(`${url}/history`)).json()) as object));
  assert.equal((await post('/history', { clear: true })).status, 200);
  assert.deepEqual(await (await fetch(`${url}/history`)).json(), {});
});

test('the queue and history persist across a restart through queueFile', async () => {
  const dirs = makeDirs();
  const queueFile = path.join(dirs.root, 'state', 'queue.json');
  try {
    const a = await startServer({ registry: testRegistry(), ...dirs, queueFile });
    await fetch(`${a.url}/prompt`, { method: 'POST', body: JSON.stringify({ prompt: steps(1), prompt_id: 'done-before' }) });
    await a.queue.waitFor('done-before');
    await fetch(`${a.url}/queue/pause`, { method: 'POST' });
    for (const id of ['p1', 'p2']) await fetch(`${a.url}/prompt`, { method: 'POST', body: JSON.stringify({ prompt: steps(1), prompt_id: id }) });
    await a.close();
    assert.ok(fs.existsSync(queueFile));

    const b = await startServer({ registry: testRegistry(), ...dirs, queueFile, startPaused: true });
    try {
      const q = (await (await fetch(`${b.url}/queue`)).json()) as { queue_pending: unknown[][] };
      assert.deepEqual(q.queue_pending.map((t) => t[1]), ['p1', 'p2']);
      const h = (await (await fetch(`${b.url}/history/done-before`)).json()) as Record<string, any>;
      assert.equal(h['done-before'].status.status_str, 'success');
      await fetch(`${b.url}/queue/resume`, { method: 'POST' });
      assert.equal((await b.queue.waitFor('p2')).status.status_str, 'success');
    } finally {
      await b.close();
    }
  } finally {
    fs.rmSync(dirs.root, { recursive: true, force: true });
  }
});
