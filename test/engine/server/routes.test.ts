/** Every read route and the /prompt contract: shapes, /api aliases, validation errors, bigints, failures. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WsClient, done, raw, start, wsUrl } from './helpers.ts';

let ctx: Awaited<ReturnType<typeof start>>;
let url: string;
before(async () => {
  ctx = await start();
  url = ctx.server.url;
  fs.mkdirSync(path.join(ctx.dirs.modelsDir, 'checkpoints', 'sd15'), { recursive: true });
  fs.writeFileSync(path.join(ctx.dirs.modelsDir, 'checkpoints', 'sd15', 'tiny.safetensors'), 'x');
  fs.writeFileSync(path.join(ctx.dirs.modelsDir, 'checkpoints', 'notes.txt'), 'not a model');
  fs.mkdirSync(path.join(ctx.dirs.modelsDir, 'embeddings'), { recursive: true });
  fs.writeFileSync(path.join(ctx.dirs.modelsDir, 'embeddings', 'easyneg.safetensors'), 'x');
});
after(() => ctx.stop());

const get = async (p: string) => {
  const r = await fetch(url + p);
  return { status: r.status, body: (await r.json()) as any };
};
const post = async (p: string, body: unknown) => {
  const r = await fetch(url + p, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, text, body: text ? JSON.parse(text) : undefined };
};

test('object_info lists every node with ComfyUI fields; one class; unknown class is {}', async () => {
  const all = await get('/object_info');
  assert.equal(all.status, 200);
  assert.ok(all.body.KSampler && all.body.LoadImage && all.body.WeftTestSeed);
  assert.deepEqual(all.body.SaveImage.input_order.required, ['images', 'filename_prefix']);
  assert.equal(all.body.SaveImage.output_node, true);
  assert.deepEqual(all.body.CheckpointLoaderSimple.input.required.ckpt_name[0], ['sd15/tiny.safetensors']);
  const one = await get('/api/object_info/ImageInvert');
  assert.deepEqual(Object.keys(one.body), ['ImageInvert']);
  assert.deepEqual(one.body.ImageInvert.output, ['IMAGE']);
  assert.deepEqual((await get('/object_info/NoSuchNode')).body, {});
  const text = await (await fetch(`${url}/object_info/KSampler`)).text();
  assert.match(text, /"max":18446744073709551615\b/, 'the seed bound is written exactly');
});

test('models, embeddings, system_stats, features, extensions, weft info and catalogue', async () => {
  const models = await get('/models');
  assert.ok(models.body.includes('checkpoints') && models.body.includes('loras'));
  assert.deepEqual((await get('/models/checkpoints')).body, ['sd15/tiny.safetensors']);
  assert.deepEqual((await get('/api/models/clip')).body, []);
  assert.equal((await get('/models/not_a_folder')).status, 404);
  assert.deepEqual((await get('/embeddings')).body, ['easyneg']);
  const stats = (await get('/system_stats')).body;
  assert.equal(typeof stats.system.ram_total, 'number');
  assert.deepEqual(stats.system.argv, []);
  assert.equal(stats.devices[0].type, 'cpu');
  const features = (await get('/features')).body;
  assert.equal(features.max_upload_size, 50 * 1024 * 1024);
  assert.deepEqual((await get('/extensions')).body, []);
  const info = (await get('/weft/info')).body;
  assert.equal(info.name, 'weft');
  assert.match(info.version, /^\d+\.\d+\.\d+/);
  const cat = (await get('/weft/catalogue')).body as { id: string; folder: string; url: string; installed: boolean }[];
  for (const id of ['sd15', 'sdxl-base', 'sd-turbo', 'controlnet-canny-sd15', 'realesrgan-x4', 'ipadapter-sd15', 'clip-l']) {
    const e = cat.find((c) => c.id === id);
    assert.ok(e, id);
    assert.match(e.url, /^https:\/\//);
    assert.equal(e.installed, false);
  }
});

test('GET /prompt, /queue and /history have ComfyUI shapes', async () => {
  assert.deepEqual((await get('/prompt')).body, { exec_info: { queue_remaining: 0 } });
  assert.deepEqual((await get('/queue')).body, { queue_running: [], queue_pending: [] });
  assert.equal((await get('/history')).status, 200);
  assert.deepEqual((await get('/history/unknown-id')).body, {});
  assert.equal((await get('/history?max_items=abc')).status, 400);
});

test('validation errors: no_prompt, unknown class, missing input, bad value; 400 with ComfyUI body', async () => {
  const none = await post('/prompt', { client_id: 'x' });
  assert.equal(none.status, 400);
  assert.equal(none.body.error.type, 'no_prompt');
  assert.deepEqual(none.body.node_errors, {});

  const unknown = await post('/prompt', { prompt: { '1': { class_type: 'Nope', inputs: {} } } });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.type, 'missing_node_type');

  const bad = await post('/prompt', { prompt: { '1': { class_type: 'WeftTestSteps', inputs: { steps: 0, delay_ms: 0 } } } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.type, 'prompt_outputs_failed_validation');
  const errs = bad.body.node_errors['1'];
  assert.equal(errs.class_type, 'WeftTestSteps');
  assert.equal(errs.errors[0].type, 'value_smaller_than_min');
  assert.deepEqual(Object.keys(errs.errors[0]).sort(), ['details', 'extra_info', 'message', 'type']);

  const noOut = await post('/prompt', { prompt: { '1': { class_type: 'ImageInvert', inputs: { image: ['2', 0] } } } });
  assert.equal(noOut.status, 400);
  assert.equal(noOut.body.error.type, 'prompt_no_outputs');
});

test('malformed JSON, wrong shapes and unknown routes get 4xx with a message; the server keeps serving', async () => {
  for (const body of ['{"prompt": ', 'not json', '[1,2', '{"a":1}}']) {
    const r = await post('/prompt', body);
    assert.equal(r.status, 400, body);
    assert.equal(typeof r.body.error.message, 'string');
  }
  assert.equal((await post('/prompt', '[]')).status, 400);
  assert.equal((await post('/prompt', { prompt: {}, extra_data: 5 })).status, 400);
  assert.equal((await post('/queue', { delete: 'abc' })).status, 400);
  assert.equal((await post('/queue/move', { prompt_id: 'x' })).status, 400);
  assert.equal((await post('/prompt', { prompt: 'abc' })).status, 400);
  const m = await fetch(`${url}/prompt`, { method: 'DELETE' });
  assert.equal(m.status, 405);
  assert.equal((await fetch(`${url}/api/nothing-here`)).status, 404);
  assert.deepEqual((await get('/prompt')).body, { exec_info: { queue_remaining: 0 } });
});

test('seeds up to 2^64−1 stay exact through /prompt, the node, /queue and /history', async () => {
  const seed = '18446744073709551615';
  const body = `{"prompt": {"1": {"class_type": "WeftTestSeed", "inputs": {"seed": ${seed}}}}, "prompt_id": "big-seed"}`;
  const r = await post('/prompt', body);
  assert.equal(r.status, 200, r.text);
  const entry = await ctx.server.queue.waitFor('big-seed');
  assert.equal(entry.status.status_str, 'success');
  const text = await (await fetch(`${url}/history/big-seed`)).text();
  assert.ok(text.includes(`"seed":${seed}`), 'prompt in history keeps the exact integer');
  assert.ok(text.includes(`"seed":["${seed}"]`), 'the node received the exact bigint');
  const tooBig = await post('/prompt', '{"prompt": {"1": {"class_type": "WeftTestSeed", "inputs": {"seed": 18446744073709551616}}}}');
  assert.equal(tooBig.status, 400);
});

test('a node that throws: execution_error to the client, error in history, server keeps working', async () => {
  const ws = await WsClient.open(wsUrl(url, 'thrower'));
  try {
    const r = await post('/prompt', { prompt: { '7': { class_type: 'WeftTestThrows', inputs: { message: 'kaboom' } } }, client_id: 'thrower' });
    assert.equal(r.status, 200);
    const id = r.body.prompt_id as string;
    const err = await ws.waitFor((m) => m.type === 'execution_error' && m.data.prompt_id === id);
    assert.equal(err.data.node_id, '7');
    assert.equal(err.data.node_type, 'WeftTestThrows');
    assert.equal(err.data.exception_message, 'kaboom');
    await ws.waitFor(done(id));
    const h = (await get(`/history/${id}`)).body[id];
    assert.equal(h.status.status_str, 'error');
    const ok = await post('/prompt', { prompt: { '1': { class_type: 'WeftTestSteps', inputs: { steps: 1, delay_ms: 0 } } }, client_id: 'thrower' });
    await ws.waitFor(done(ok.body.prompt_id));
    assert.equal((await get(`/history/${ok.body.prompt_id}`)).body[ok.body.prompt_id].status.status_str, 'success');
  } finally {
    ws.close();
  }
});

test('partial_execution_targets runs only the listed outputs; a duplicate prompt_id is refused', async () => {
  const prompt = {
    '1': { class_type: 'WeftTestSteps', inputs: { steps: 1, delay_ms: 0 } },
    '2': { class_type: 'WeftTestSeed', inputs: { seed: 5 } },
  };
  const r = await post('/prompt', { prompt, prompt_id: 'partial', partial_execution_targets: ['2'] });
  assert.equal(r.status, 200);
  const entry = await ctx.server.queue.waitFor('partial');
  assert.deepEqual(Object.keys(entry.outputs), ['2']);
  assert.deepEqual(entry.prompt[4], ['2']);
  const again = await post('/prompt', { prompt, prompt_id: 'partial' });
  assert.equal(again.status, 400);
});

test('POST /free clears the output cache, so an identical prompt runs its nodes again', async () => {
  const prompt = { '1': { class_type: 'WeftTestSteps', inputs: { steps: 2, delay_ms: 0 } } };
  const a = await post('/prompt', { prompt });
  await ctx.server.queue.waitFor(a.body.prompt_id);
  const b = await post('/prompt', { prompt });
  const cachedRun = await ctx.server.queue.waitFor(b.body.prompt_id);
  const cached = cachedRun.status.messages.find((m) => m[0] === 'execution_cached')![1] as { nodes: string[] };
  assert.deepEqual(cached.nodes, ['1']);
  const free = await raw(`${url}/free`, { method: 'POST', body: '{"free_memory": true}' });
  assert.equal(free.status, 200);
  const c = await post('/prompt', { prompt });
  const fresh = await ctx.server.queue.waitFor(c.body.prompt_id);
  assert.deepEqual((fresh.status.messages.find((m) => m[0] === 'execution_cached')![1] as { nodes: string[] }).nodes, []);
});

test('a client opening with feature_flags gets the server flags back', async () => {
  const ws = await WsClient.open(wsUrl(url, 'flags'));
  try {
    await ws.waitFor((m) => m.type === 'status');
    ws.ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
    const reply = await ws.waitFor((m) => m.type === 'feature_flags');
    assert.equal(reply.data.supports_preview_metadata, false);
    assert.equal(reply.data.max_upload_size, 50 * 1024 * 1024);
  } finally {
    ws.close();
  }
});
