/**
 * Clients doing exactly what ComfyUI's script_examples do, against the real server with the real
 * LoadImage → ImageInvert → SaveImage nodes: the bytes that come back from /view are the inverted upload.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { WsClient, done, rawPixels, samplePng, start, upload, wsUrl } from './helpers.ts';

let ctx: Awaited<ReturnType<typeof start>>;
let uploaded: string;
let original: Awaited<ReturnType<typeof rawPixels>>;

before(async () => {
  ctx = await start();
  const png = await samplePng();
  original = await rawPixels(png);
  const r = await upload(ctx.server.url, png, 'source.png');
  assert.equal(r.status, 200);
  const body = (await r.json()) as { name: string; subfolder: string; type: string };
  assert.deepEqual(body, { name: 'source.png', subfolder: '', type: 'input' });
  uploaded = body.name;
});
after(() => ctx.stop());

function invertWorkflow(prefix: string) {
  return {
    '1': { class_type: 'LoadImage', inputs: { image: uploaded } },
    '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
    '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: prefix } },
  };
}

async function assertInverted(bytes: Uint8Array): Promise<void> {
  const got = await rawPixels(bytes);
  assert.equal(got.width, original.width);
  assert.equal(got.height, original.height);
  for (let i = 0; i < original.width * original.height; i++) {
    // SaveImage truncates 255·(1−x) like ComfyUI's astype(uint8), so float error can cost one level.
    for (let c = 0; c < 3; c++) {
      const diff = got.data[i * got.channels + c] - (255 - original.data[i * original.channels + c]);
      assert.ok(diff === 0 || diff === -1, `pixel ${i} channel ${c}: off by ${diff}`);
    }
  }
}

test('websockets_api_example: ws with clientId, POST /prompt, wait for executing null, /history, /view', async () => {
  const clientId = randomUUID();
  const ws = await WsClient.open(wsUrl(ctx.server.url, clientId));
  try {
    const hello = await ws.waitFor((m) => m.type === 'status');
    assert.equal(hello.data.sid, clientId);
    assert.deepEqual(hello.data.status, { exec_info: { queue_remaining: 0 } });

    const promptId = randomUUID();
    const res = await fetch(`${ctx.server.url}/prompt`, {
      method: 'POST',
      body: JSON.stringify({ prompt: invertWorkflow('ws_example'), client_id: clientId, prompt_id: promptId }),
    });
    assert.equal(res.status, 200);
    const queued = (await res.json()) as { prompt_id: string; number: number; node_errors: object };
    assert.equal(queued.prompt_id, promptId);
    assert.equal(typeof queued.number, 'number');
    assert.deepEqual(queued.node_errors, {});

    await ws.waitFor(done(promptId));
    const mine = ws.messages.filter((m) => m.data.prompt_id === promptId);
    assert.deepEqual(
      mine.map((m) => (m.type === 'executing' ? `executing:${m.data.node}` : m.type)),
      ['execution_start', 'execution_cached', 'executing:1', 'executing:2', 'executing:3', 'executed', 'execution_success', 'executing:null'],
    );
    const executed = mine.find((m) => m.type === 'executed')!;
    assert.equal(executed.data.node, '3');

    const history = (await (await fetch(`${ctx.server.url}/history/${promptId}`)).json()) as Record<string, any>;
    const item = history[promptId];
    assert.equal(item.status.status_str, 'success');
    assert.equal(item.status.completed, true);
    assert.equal(item.prompt[1], promptId);
    assert.deepEqual(item.prompt[4], ['3']);
    assert.equal(item.prompt[3].client_id, clientId);
    const images = item.outputs['3'].images as { filename: string; subfolder: string; type: string }[];
    assert.equal(images.length, 1);
    assert.deepEqual(executed.data.output, item.outputs['3']);
    for (const img of images) {
      const q = new URLSearchParams({ filename: img.filename, subfolder: img.subfolder, type: img.type });
      const v = await fetch(`${ctx.server.url}/view?${q}`);
      assert.equal(v.status, 200);
      assert.equal(v.headers.get('content-type'), 'image/png');
      await assertInverted(new Uint8Array(await v.arrayBuffer()));
    }
  } finally {
    ws.close();
  }
});

/** urllib.request.Request(url, data=json) sends no Content-Type header: fetch cannot, so raw http. */
function postWithoutContentType(url: string, body: string): Promise<{ status: number; body: string; contentType?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), contentType: req.getHeader('content-type') as string | undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('basic_api_example: POST /prompt without Content-Type is parsed as JSON and runs', async () => {
  const r = await postWithoutContentType(`${ctx.server.url}/prompt`, JSON.stringify({ prompt: invertWorkflow('basic_example') }));
  assert.equal(r.contentType, undefined);
  assert.equal(r.status, 200, r.body);
  const { prompt_id } = JSON.parse(r.body) as { prompt_id: string };
  const entry = await ctx.server.queue.waitFor(prompt_id);
  assert.equal(entry.status.status_str, 'success');
  const h = (await (await fetch(`${ctx.server.url}/api/history/${prompt_id}`)).json()) as Record<string, any>;
  const img = h[prompt_id].outputs['3'].images[0];
  assert.match(img.filename, /^basic_example_\d{5}_\.png$/);
  const v = await fetch(`${ctx.server.url}/api/view?filename=${encodeURIComponent(img.filename)}&type=output`);
  await assertInverted(new Uint8Array(await v.arrayBuffer()));
});

test('a prompt without client_id runs but its execution events reach no socket; status is broadcast', async () => {
  const ws = await WsClient.open(wsUrl(ctx.server.url, 'watcher'));
  try {
    await ws.waitFor((m) => m.type === 'status');
    const res = await fetch(`${ctx.server.url}/prompt`, { method: 'POST', body: JSON.stringify({ prompt: invertWorkflow('anon') }) });
    const { prompt_id } = (await res.json()) as { prompt_id: string };
    await ctx.server.queue.waitFor(prompt_id);
    // Statuses: on connect (0), queued (1), started (1), finished (0) — the last one comes after every run event.
    const statuses = () => ws.messages.filter((x) => x.type === 'status');
    await ws.waitFor((m) => m.type === 'status' && statuses().length >= 4 && m === statuses().at(-1));
    assert.deepEqual(statuses().map((m) => m.data.status.exec_info.queue_remaining), [0, 1, 1, 0]);
    assert.equal(ws.messages.filter((m) => m.data.prompt_id === prompt_id).length, 0);
  } finally {
    ws.close();
  }
});
