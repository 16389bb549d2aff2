/** Host/Origin allow-list (DNS rebinding, cross-site POSTs), tokens for HTTP and WS, headers, crash containment. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Guard, requiredToken } from '../../../engine/server/security.ts';
import { WsClient, raw, start, wsUrl } from './helpers.ts';

let ctx: Awaited<ReturnType<typeof start>>;
let url: string;
let port: number;
before(async () => {
  ctx = await start({ allowedOrigins: ['https://trusted.example'] });
  url = ctx.server.url;
  port = ctx.server.port;
});
after(() => ctx.stop());

const prompt = JSON.stringify({ prompt: { '1': { class_type: 'WeftTestSteps', inputs: { steps: 1, delay_ms: 0 } } } });

test('Host must be a loopback name with this port: rebinding and wrong ports are refused', async () => {
  assert.equal((await raw(`${url}/prompt`, { headers: { Host: `localhost:${port}` } })).status, 200);
  assert.equal((await raw(`${url}/prompt`, { headers: { Host: `[::1]:${port}` } })).status, 200);
  for (const host of [`evil.example:${port}`, `127.0.0.1:${port + 1}`, 'localhost', `127.0.0.1.nip.io:${port}`, '']) {
    const r = await raw(`${url}/prompt`, { headers: { Host: host } });
    assert.equal(r.status, 403, host);
    assert.match(r.json().error.message, /Host/);
  }
  // The DNS-rebinding shape: the page's origin and Host are both the attacker's name.
  const rebind = await raw(`${url}/prompt`, { method: 'POST', headers: { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` }, body: prompt });
  assert.equal(rebind.status, 403);
  assert.equal(ctx.server.queue.remaining(), 0);
});

test('a present Origin must be this server or an allowed one; a missing Origin (CLI clients) is fine', async () => {
  const before = Object.keys(ctx.server.queue.history()).length;
  for (const origin of ['http://evil.example', 'null', `http://localhost:${port + 1}`, 'file://']) {
    const r = await raw(`${url}/prompt`, { method: 'POST', headers: { Origin: origin }, body: prompt });
    assert.equal(r.status, 403, origin);
  }
  assert.equal(Object.keys(ctx.server.queue.history()).length, before, 'no refused POST was queued');
  const same = await raw(`${url}/prompt`, { method: 'POST', headers: { Origin: `http://127.0.0.1:${port}` }, body: prompt });
  assert.equal(same.status, 200);
  assert.equal(same.headers['access-control-allow-origin'], undefined);
  const none = await raw(`${url}/prompt`, { method: 'POST', body: prompt });
  assert.equal(none.status, 200);
  const trusted = await raw(`${url}/queue`, { headers: { Origin: 'https://trusted.example' } });
  assert.equal(trusted.status, 200);
  assert.equal(trusted.headers['access-control-allow-origin'], 'https://trusted.example');
  const pre = await raw(`${url}/prompt`, { method: 'OPTIONS', headers: { Origin: 'https://trusted.example' } });
  assert.equal(pre.status, 204);
});

test('WebSocket upgrades get the same Host and Origin checks', async () => {
  await assert.rejects(WsClient.open(wsUrl(url, 'x'), { Origin: 'http://evil.example' }), /403/);
  await assert.rejects(WsClient.open(wsUrl(url, 'x'), { Host: `evil.example:${port}` }), /403/);
  await assert.rejects(WsClient.open(`${url.replace('http', 'ws')}/not-ws`), /404/);
  const ok = await WsClient.open(wsUrl(url, 'fine'), { Origin: `http://localhost:${port}`, Host: `localhost:${port}` });
  await ok.waitFor((m) => m.type === 'status');
  ok.close();
});

test('every response carries nosniff, no-framing and a sandboxing CSP', async () => {
  const r = await raw(`${url}/queue`);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.match(String(r.headers['content-security-policy']), /sandbox/);
  const refused = await raw(`${url}/queue`, { headers: { Host: 'evil.example' } });
  assert.equal(refused.headers['x-content-type-options'], 'nosniff');
});

test('with a token, HTTP and WS need it (Bearer, ?token= with a cookie for the UI, or that cookie)', async () => {
  const t = await start({ token: 's3cret-token' });
  try {
    const u = t.server.url;
    assert.equal((await raw(`${u}/queue`)).status, 401);
    assert.equal((await raw(`${u}/queue`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await raw(`${u}/queue?token=wrong`)).status, 401);
    assert.equal((await raw(`${u}/queue`, { headers: { Authorization: 'Bearer s3cret-token' } })).status, 200);
    const viaQuery = await raw(`${u}/queue?token=s3cret-token`);
    assert.equal(viaQuery.status, 200);
    const cookie = String(viaQuery.headers['set-cookie']).split(';')[0];
    assert.match(String(viaQuery.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
    assert.equal((await raw(`${u}/queue`, { headers: { Cookie: cookie } })).status, 200);
    await assert.rejects(WsClient.open(wsUrl(u, 'a')), /401/);
    await assert.rejects(WsClient.open(`${wsUrl(u, 'a')}&token=nope`), /401/);
    const ws = await WsClient.open(`${wsUrl(u, 'a')}&token=s3cret-token`);
    await ws.waitFor((m) => m.type === 'status');
    ws.close();
    const ws2 = await WsClient.open(wsUrl(u, 'b'), { Authorization: 'Bearer s3cret-token' });
    ws2.close();
  } finally {
    await t.stop();
  }
});

test('a token is generated whenever the address is not loopback', () => {
  assert.deepEqual(requiredToken('127.0.0.1', undefined), { generated: false });
  assert.deepEqual(requiredToken('localhost', undefined), { generated: false });
  assert.deepEqual(requiredToken('::1', undefined), { generated: false });
  for (const h of ['0.0.0.0', '::', '192.168.1.5']) {
    const r = requiredToken(h, undefined);
    assert.equal(r.generated, true);
    assert.ok(r.token && r.token.length >= 32);
  }
  assert.deepEqual(requiredToken('0.0.0.0', 'mine'), { token: 'mine', generated: false });
  // Behind a wildcard bind any Host passes (clients' names are unknown) but the token is still checked.
  const g = new Guard({ host: '0.0.0.0', port: 8188, token: 'tok' });
  assert.equal(g.check({ host: 'studio.lan:8188' }, new URLSearchParams()).status, 401);
  assert.equal(g.check({ host: 'studio.lan:8188', authorization: 'Bearer tok' }, new URLSearchParams()).ok, true);
  assert.equal(g.check({ host: 'studio.lan:8188', origin: 'http://evil.example', authorization: 'Bearer tok' }, new URLSearchParams()).ok, false);
});

test('an exception inside a handler is a 500 JSON answer and the server keeps serving', async () => {
  const t = await start({
    info: () => {
      throw new Error('info exploded');
    },
  });
  try {
    const r = await raw(`${t.server.url}/weft/info`);
    assert.equal(r.status, 500);
    assert.match(r.json().error.message, /info exploded/);
    assert.equal((await raw(`${t.server.url}/queue`)).status, 200);
  } finally {
    await t.stop();
  }
});
