/** POST /models/download against a local file server: progress over WS, sha256, Range resume, refusals. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WsClient, start, wsUrl } from './helpers.ts';

const CONTENT = Buffer.alloc(300 * 1024);
for (let i = 0; i < CONTENT.length; i++) CONTENT[i] = (i * 31 + (i >> 8)) & 0xff;
const SHA = createHash('sha256').update(CONTENT).digest('hex');

let ctx: Awaited<ReturnType<typeof start>>;
let files: http.Server;
let base: string;
const ranges: Record<string, (string | undefined)[]> = {};
let flakyCalls = 0;

before(async () => {
  files = http.createServer((req, res) => {
    const name = req.url!.slice(1);
    (ranges[name] ??= []).push(req.headers.range);
    if (name === 'missing.safetensors') {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && name !== 'norange.safetensors') {
      const from = Number(range[1]);
      res.writeHead(206, { 'Content-Length': CONTENT.length - from, 'Content-Range': `bytes ${from}-${CONTENT.length - 1}/${CONTENT.length}` });
      res.end(CONTENT.subarray(from));
      return;
    }
    res.writeHead(200, { 'Content-Length': CONTENT.length });
    if (name === 'stall.safetensors') {
      res.write(CONTENT.subarray(0, 1024)); // then nothing: only a cancel ends this download
      return;
    }
    if (name === 'flaky.safetensors' && flakyCalls++ === 0) {
      // The connection drops after 100 KiB: the client keeps what it got for a Range retry.
      res.write(CONTENT.subarray(0, 100 * 1024), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    res.end(CONTENT);
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  ctx = await start();
});
after(async () => {
  await ctx.stop();
  files.closeAllConnections();
  await new Promise((r) => files.close(r));
});

const download = async (body: unknown) => {
  const r = await fetch(`${ctx.server.url}/models/download`, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as any };
};
const dest = (...p: string[]) => path.join(ctx.dirs.modelsDir, ...p);

test('downloads into the folder with progress messages and a verified sha256; the model then lists', async () => {
  const ws = await WsClient.open(wsUrl(ctx.server.url, 'dl'));
  try {
    const r = await download({ url: `${base}/model.safetensors`, folder: 'checkpoints', filename: 'sd/model.safetensors', sha256: SHA });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'downloading');
    const final = await ctx.server.downloads.wait(r.body.id);
    assert.equal(final.status, 'done', final.error);
    assert.equal(final.sha256, SHA);
    assert.deepEqual(fs.readFileSync(dest('checkpoints', 'sd', 'model.safetensors')), CONTENT);
    assert.deepEqual(fs.readdirSync(dest('checkpoints', 'sd')), ['model.safetensors'], 'no .part left');
    const msgs = (await ws.waitFor((m) => m.type === 'weft.download' && m.data.status === 'done'), ws.messages.filter((m) => m.type === 'weft.download'));
    assert.equal(msgs[0].data.status, 'downloading');
    assert.equal(msgs.at(-1)!.data.received, CONTENT.length);
    assert.equal(msgs.at(-1)!.data.total, CONTENT.length);
    const listed = (await (await fetch(`${ctx.server.url}/models/checkpoints`)).json()) as string[];
    assert.ok(listed.includes('sd/model.safetensors'));
    assert.equal((await download({ url: `${base}/model.safetensors`, folder: 'checkpoints', filename: 'sd/model.safetensors' })).status, 409);
  } finally {
    ws.close();
  }
});

test('a dropped connection leaves a hidden .part that the next request resumes with Range', async () => {
  const req = { url: `${base}/flaky.safetensors`, folder: 'loras', filename: 'flaky.safetensors', sha256: SHA };
  const first = await ctx.server.downloads.wait((await download(req)).body.id);
  assert.equal(first.status, 'error');
  const part = dest('loras', '.flaky.safetensors.part');
  // Bytes still queued inside fetch when the stream errors are lost, so the part may be a little shorter.
  const kept = fs.statSync(part).size;
  assert.ok(kept > 0 && kept <= 100 * 1024, `kept ${kept}`);
  assert.ok(!fs.existsSync(dest('loras', 'flaky.safetensors')));
  assert.deepEqual((await (await fetch(`${ctx.server.url}/models/loras`)).json()), [], 'partial files never list');

  const second = await ctx.server.downloads.wait((await download(req)).body.id);
  assert.equal(second.status, 'done', second.error);
  assert.equal(second.resumed_from, kept);
  assert.deepEqual(ranges['flaky.safetensors'], [undefined, `bytes=${kept}-`]);
  assert.deepEqual(fs.readFileSync(dest('loras', 'flaky.safetensors')), CONTENT);
  assert.ok(!fs.existsSync(part));
  const listed = (await (await fetch(`${ctx.server.url}/weft/downloads`)).json()) as { id: string; status: string }[];
  assert.deepEqual(listed.filter((d) => d.id === first.id || d.id === second.id).map((d) => d.status), ['error', 'done']);
});

test('a server that ignores Range makes the download start over, still correct', async () => {
  fs.mkdirSync(dest('vae'), { recursive: true });
  fs.writeFileSync(dest('vae', '.norange.safetensors.part'), Buffer.alloc(5000, 9));
  const s = await ctx.server.downloads.wait((await download({ url: `${base}/norange.safetensors`, folder: 'vae', filename: 'norange.safetensors', sha256: SHA })).body.id);
  assert.equal(s.status, 'done', s.error);
  assert.equal(s.resumed_from, 0);
  assert.deepEqual(fs.readFileSync(dest('vae', 'norange.safetensors')), CONTENT);
});

test('a sha256 mismatch discards the file; an HTTP error is reported', async () => {
  const wrong = 'a'.repeat(64);
  const s = await ctx.server.downloads.wait((await download({ url: `${base}/model.safetensors`, folder: 'upscale_models', filename: 'x.pth', sha256: wrong })).body.id);
  assert.equal(s.status, 'error');
  assert.match(s.error!, /sha256 mismatch/);
  assert.deepEqual(fs.readdirSync(dest('upscale_models')), []);
  const m = await ctx.server.downloads.wait((await download({ url: `${base}/missing.safetensors`, folder: 'loras', filename: 'missing.safetensors' })).body.id);
  assert.equal(m.status, 'error');
  assert.match(m.error!, /404/);
});

test('refuses non-http(s) URLs, unknown folders, path escapes, odd extensions and bad hashes', async () => {
  const ok = { url: `${base}/model.safetensors`, folder: 'checkpoints', filename: 'y.safetensors' };
  const bad: Record<string, unknown>[] = [
    { ...ok, url: 'file:///etc/passwd' },
    { ...ok, url: 'ftp://example.com/x.safetensors' },
    { ...ok, url: 'javascript:alert(1)' },
    { ...ok, url: 'not a url' },
    { ...ok, folder: '../..' },
    { ...ok, folder: 'nope' },
    { ...ok, filename: '../../escape.safetensors' },
    { ...ok, filename: '/tmp/abs.safetensors' },
    { ...ok, filename: 'sub/../../escape.safetensors' },
    { ...ok, filename: '.hidden.safetensors' },
    { ...ok, filename: 'run.sh' },
    { ...ok, sha256: 'xyz' },
    { ...ok, url: 5 },
  ];
  for (const b of bad) assert.equal((await download(b)).status, 400, JSON.stringify(b));
  assert.equal((await fetch(`${ctx.server.url}/models/download`, { method: 'POST', body: '{bad' })).status, 400);
  assert.ok(!fs.existsSync(path.join(ctx.dirs.root, 'escape.safetensors')));
  assert.ok(!fs.existsSync(dest('checkpoints', 'y.safetensors')));
});

test('a running download can be cancelled; its part stays for a later resume', async () => {
  const started = await download({ url: `${base}/stall.safetensors`, folder: 'loras', filename: 'stall.safetensors' });
  const id = started.body.id as string;
  for (let i = 0; i < 100 && (ctx.server.downloads.get(id)?.received ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 20));
  const r = await fetch(`${ctx.server.url}/weft/downloads/${id}/cancel`, { method: 'POST' });
  assert.equal(r.status, 200);
  const final = await ctx.server.downloads.wait(id);
  assert.equal(final.status, 'cancelled');
  assert.ok(!fs.existsSync(dest('loras', 'stall.safetensors')));
  assert.equal((await fetch(`${ctx.server.url}/weft/downloads/${id}/cancel`, { method: 'POST' })).status, 404);
});

test('the catalogue T5 tokenizer entry lands in models/tokenizers/t5/, where the FLUX text encoder looks for it', async () => {
  const { CATALOGUE } = await import('../../../engine/server/catalogue.ts');
  const e = CATALOGUE.find((c) => c.id === 't5-tokenizer')!;
  const r = await download({ url: `${base}/spiece.model`, folder: e.folder, filename: e.filename });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const final = await ctx.server.downloads.wait(r.body.id);
  assert.equal(final.status, 'done', final.error);
  assert.deepEqual(fs.readFileSync(dest('tokenizers', 't5', 'spiece.model')), CONTENT);
  const cat = (await (await fetch(`${ctx.server.url}/weft/catalogue`)).json()) as { id: string; installed: boolean }[];
  assert.equal(cat.find((c) => c.id === 't5-tokenizer')?.installed, true);
});
