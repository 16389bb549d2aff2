/** The built renderer at `/`: index, typed assets with the UI's CSP, 404s, no escapes, favicon 204. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeDirs, raw, start } from './helpers.ts';

let ctx: Awaited<ReturnType<typeof start>>;
let url: string;
before(async () => {
  const dirs = makeDirs();
  const ui = path.join(dirs.root, 'ui');
  fs.mkdirSync(path.join(ui, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>Weft</title><script type="module" src="/assets/app.js"></script>');
  fs.writeFileSync(path.join(ui, 'assets', 'app.js'), 'console.log("weft")');
  fs.writeFileSync(path.join(ui, 'assets', 'app.css'), 'body{}');
  fs.writeFileSync(path.join(ui, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  fs.writeFileSync(path.join(ui, '.env'), 'SECRET=1');
  fs.writeFileSync(path.join(dirs.root, 'secret.txt'), 'TOP-SECRET');
  fs.symlinkSync(path.join(dirs.root, 'secret.txt'), path.join(ui, 'assets', 'leak.txt'));
  ctx = await start({ staticDir: ui }, dirs);
  url = ctx.server.url;
});
after(() => ctx.stop());

test('serves index.html at / with the UI content security policy', async () => {
  const r = await raw(`${url}/`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(r.body.toString(), /<title>Weft<\/title>/);
  const csp = String(r.headers['content-security-policy']);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${ctx.server.port}`));
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal((await raw(`${url}/index.html`)).status, 200);
});

test('assets get their content types; missing files, hidden files and escapes are 404', async () => {
  assert.equal((await raw(`${url}/assets/app.js`)).headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await raw(`${url}/assets/app.css`)).headers['content-type'], 'text/css; charset=utf-8');
  assert.equal((await raw(`${url}/assets/logo.svg`)).headers['content-type'], 'image/svg+xml');
  for (const p of ['/nope.js', '/assets/', '/.env', '/assets/leak.txt', '/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/%252e%252e/secret.txt', '/assets/..%5c..%5csecret.txt']) {
    const r = await raw(url + p);
    assert.equal(r.status, 404, p);
    assert.ok(!r.body.toString().includes('TOP-SECRET'), p);
  }
  assert.equal((await raw(`${url}/assets/app.js`, { method: 'POST' })).status, 405);
});

test('/favicon.ico is 204 when the UI has none; API routes still win over static files', async () => {
  const f = await raw(`${url}/favicon.ico`);
  assert.equal(f.status, 204);
  assert.equal(f.body.length, 0);
  assert.deepEqual((await raw(`${url}/queue`)).json(), { queue_running: [], queue_pending: [] });
});

test('without a staticDir, / is a 404 with a message and the API still answers', async () => {
  const t = await start();
  try {
    const r = await raw(`${t.server.url}/`);
    assert.equal(r.status, 404);
    assert.match(r.json().error.message, /no UI/);
    assert.equal((await raw(`${t.server.url}/favicon.ico`)).status, 204);
  } finally {
    await t.stop();
  }
});
