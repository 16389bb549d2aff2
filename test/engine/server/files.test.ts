/** /upload/image, /upload/mask and /view: ComfyUI's naming and conversions, and no way out of the typed folders. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { addPngText, readPngText } from '../../../engine/io/png.ts';
import { rawPixels, raw, samplePng, start, upload } from './helpers.ts';

let ctx: Awaited<ReturnType<typeof start>>;
let url: string;
let png: Buffer;
const SECRET = 'TOP-SECRET-CONTENT';
before(async () => {
  ctx = await start({ maxUploadBytes: 64 * 1024 });
  url = ctx.server.url;
  png = await samplePng();
  fs.writeFileSync(path.join(ctx.dirs.root, 'secret.txt'), SECRET);
  fs.writeFileSync(path.join(ctx.dirs.root, 'secret.png'), png);
  fs.mkdirSync(path.join(ctx.dirs.root, 'outside'));
  fs.symlinkSync(path.join(ctx.dirs.root, 'secret.png'), path.join(ctx.dirs.outputDir, 'link.png'));
  fs.symlinkSync(path.join(ctx.dirs.root, 'outside'), path.join(ctx.dirs.outputDir, 'outdir'));
  fs.symlinkSync(path.join(ctx.dirs.root, 'outside'), path.join(ctx.dirs.inputDir, 'outdir'));
  fs.writeFileSync(path.join(ctx.dirs.outputDir, 'page.html'), '<script>alert(1)</script>');
});
after(() => ctx.stop());

const json = async (r: Response) => (await r.json()) as any;

test('upload names: same content reuses the name, different content becomes "name (1).png", overwrite replaces', async () => {
  assert.deepEqual(await json(await upload(url, png, 'pic.png')), { name: 'pic.png', subfolder: '', type: 'input' });
  assert.deepEqual(await json(await upload(url, png, 'pic.png')), { name: 'pic.png', subfolder: '', type: 'input' });
  const other = await samplePng(5, 5);
  assert.equal((await json(await upload(url, other, 'pic.png'))).name, 'pic (1).png');
  assert.equal((await json(await upload(url, await samplePng(6, 6), 'pic.png'))).name, 'pic (2).png');
  assert.equal((await json(await upload(url, other, 'pic.png'))).name, 'pic (1).png');
  assert.deepEqual(fs.readdirSync(ctx.dirs.inputDir).filter((f) => f.startsWith('pic')).sort(), ['pic (1).png', 'pic (2).png', 'pic.png']);
  const over = await json(await upload(url, other, 'pic.png', { overwrite: 'true' }));
  assert.equal(over.name, 'pic.png');
  assert.deepEqual(fs.readFileSync(path.join(ctx.dirs.inputDir, 'pic.png')), other);
  const sub = await json(await upload(url, png, 'a.png', { subfolder: 'clipspace/deep', type: 'temp' }));
  assert.deepEqual(sub, { name: 'a.png', subfolder: 'clipspace/deep', type: 'temp' });
  assert.ok(fs.existsSync(path.join(ctx.dirs.tempDir, 'clipspace', 'deep', 'a.png')));
  assert.deepEqual(fs.readdirSync(ctx.dirs.inputDir).filter((f) => f.startsWith('.')), [], 'no temp files left behind');
});

test('uploads must be images within the size limit, posted as multipart', async () => {
  const big = await sharp({ create: { width: 400, height: 400, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png({ compressionLevel: 0 }).toBuffer();
  assert.ok(big.length > 64 * 1024);
  assert.equal((await upload(url, big, 'big.png')).status, 413);
  assert.equal((await upload(url, Buffer.from('just text, not an image'), 'fake.png')).status, 400);
  assert.equal((await upload(url, Buffer.concat([png.subarray(0, 16), Buffer.alloc(64, 7)]), 'broken.png')).status, 400);
  assert.equal((await upload(url, png, 'page.html')).status, 400);
  assert.equal((await upload(url, png, 'x.png', { type: 'models' })).status, 400);
  assert.equal((await fetch(`${url}/upload/image`, { method: 'POST', body: '{"image": 1}' })).status, 400);
  const noField = new FormData();
  noField.set('other', 'x');
  assert.equal((await fetch(`${url}/upload/image`, { method: 'POST', body: noField })).status, 400);
  const bad = await raw(`${url}/upload/image`, { method: 'POST', headers: { 'Content-Type': 'multipart/form-data; boundary=zzz' }, body: '--zzz\r\nbroken' });
  assert.equal(bad.status, 400);
  for (const f of ['big.png', 'fake.png', 'broken.png', 'page.html']) assert.ok(!fs.existsSync(path.join(ctx.dirs.inputDir, f)), f);
});

test('upload subfolders and names cannot leave the folder (.., absolute, symlinked directory)', async () => {
  for (const subfolder of ['../escape', '..', 'a/../../escape', '/tmp', '..\\escape', 'outdir', 'outdir/new']) {
    const r = await upload(url, png, 'x.png', { subfolder });
    assert.ok(r.status === 403 || r.status === 400, `${subfolder}: ${r.status}`);
  }
  for (const name of ['../x.png', '..\\x.png', '.hidden.png']) {
    assert.equal((await upload(url, png, name)).status, 400, name);
  }
  assert.deepEqual(fs.readdirSync(path.join(ctx.dirs.root, 'outside')), []);
  assert.ok(!fs.existsSync(path.join(ctx.dirs.root, 'escape')));
  assert.ok(!fs.existsSync(path.join(ctx.dirs.root, 'x.png')));
});

test('/view refuses every escape: .., absolute, encoded, double-encoded, backslashes, symlinks', async () => {
  const cases = [
    'filename=../secret.txt',
    'filename=%2e%2e%2fsecret.txt',
    'filename=%252e%252e%252fsecret.txt',
    'filename=..%5csecret.txt',
    'filename=/etc/passwd',
    'filename=secret.txt&subfolder=..',
    'filename=secret.txt&subfolder=%2e%2e',
    'filename=secret.txt&subfolder=/',
    'filename=secret.txt&subfolder=' + encodeURIComponent(path.join(ctx.dirs.root)),
    'filename=secret.png&subfolder=outdir/..%2f..',
    'filename=link.png',
    'filename=secret.png&subfolder=outdir',
    'filename=secret.txt [output]&subfolder=..',
    'filename=x.png&type=../..',
  ];
  for (const q of cases) {
    const r = await raw(`${url}/view?${q.replaceAll(' ', '%20')}`);
    assert.ok([400, 403, 404].includes(r.status), `${q}: ${r.status}`);
    assert.ok(!r.body.includes(SECRET), q);
    assert.ok(!r.body.subarray(0, 8).equals(png.subarray(0, 8)), `${q} leaked an image`);
  }
  assert.equal((await raw(`${url}/view?filename=link.png`)).status, 403);
  assert.equal((await raw(`${url}/view?filename=missing.png`)).status, 404);
  assert.equal((await raw(`${url}/view`)).status, 400);
});

test('/view: raw bytes by default, annotated names, preview webp/jpeg, channel rgb and a; html served as bytes', async () => {
  await upload(url, png, 'view.png', { subfolder: 'sub' });
  const plain = await fetch(`${url}/view?filename=view.png&subfolder=sub&type=input`);
  assert.equal(plain.status, 200);
  assert.deepEqual(Buffer.from(await plain.arrayBuffer()), png);
  const annotated = await fetch(`${url}/view?filename=${encodeURIComponent('view.png [input]')}&subfolder=sub`);
  assert.deepEqual(Buffer.from(await annotated.arrayBuffer()), png);

  const webp = await fetch(`${url}/view?filename=view.png&subfolder=sub&type=input&preview=webp;50`);
  assert.equal(webp.headers.get('content-type'), 'image/webp');
  assert.equal((await sharp(Buffer.from(await webp.arrayBuffer())).metadata()).format, 'webp');
  const jpeg = await fetch(`${url}/view?filename=view.png&subfolder=sub&type=input&preview=jpeg;80`);
  assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');
  const forced = await fetch(`${url}/view?filename=view.png&subfolder=sub&type=input&preview=jpeg;80&channel=a`);
  assert.equal(forced.headers.get('content-type'), 'image/webp', 'alpha forces webp');

  const src = await rawPixels(png);
  const rgb = await rawPixels(new Uint8Array(await (await fetch(`${url}/view?filename=view.png&subfolder=sub&type=input&channel=rgb`)).arrayBuffer()));
  assert.equal(rgb.channels, 3);
  assert.deepEqual([...rgb.data.subarray(0, 3)], [...src.data.subarray(0, 3)]);
  const a = await rawPixels(new Uint8Array(await (await fetch(`${url}/view?filename=view.png&subfolder=sub&type=input&channel=a`)).arrayBuffer()));
  assert.equal(a.channels, 4);
  for (let i = 0; i < 12; i++) {
    assert.deepEqual([...a.data.subarray(i * 4, i * 4 + 3)], [0, 0, 0]);
    assert.equal(a.data[i * 4 + 3], src.data[i * 4 + 3]);
  }
  assert.equal((await raw(`${url}/view?filename=view.png&subfolder=sub&type=input&channel=x`)).status, 400);

  const html = await raw(`${url}/view?filename=page.html`);
  assert.equal(html.status, 200);
  assert.equal(html.headers['content-type'], 'application/octet-stream');
  assert.equal(html.headers['x-content-type-options'], 'nosniff');
});

test('/upload/mask puts the painted alpha on the original, keeps its PNG text, and refuses escaping refs', async () => {
  const withText = Buffer.from(addPngText(png, { prompt: '{"1":{}}', workflow: '{"nodes":[]}' }));
  fs.writeFileSync(path.join(ctx.dirs.outputDir, 'orig.png'), withText);
  const alpha = Buffer.alloc(4 * 3 * 4);
  for (let i = 0; i < 12; i++) alpha[i * 4 + 3] = i * 20;
  const mask = await sharp(alpha, { raw: { width: 4, height: 3, channels: 4 } }).png().toBuffer();
  const ref = JSON.stringify({ filename: 'orig.png', subfolder: '', type: 'output' });
  const r = await upload(url, mask, 'clipspace-mask.png', { original_ref: ref, subfolder: 'clipspace', type: 'input' }, '/upload/mask');
  assert.equal(r.status, 200);
  const body = await json(r);
  assert.deepEqual(body, { name: 'clipspace-mask.png', subfolder: 'clipspace', type: 'input' });
  const saved = fs.readFileSync(path.join(ctx.dirs.inputDir, 'clipspace', 'clipspace-mask.png'));
  const got = await rawPixels(saved);
  const src = await rawPixels(png);
  for (let i = 0; i < 12; i++) {
    assert.deepEqual([...got.data.subarray(i * 4, i * 4 + 3)], [...src.data.subarray(i * 4, i * 4 + 3)]);
    assert.equal(got.data[i * 4 + 3], i * 20);
  }
  assert.equal(readPngText(saved).workflow, '{"nodes":[]}');

  const bad = [
    JSON.stringify({ filename: '../secret.png', type: 'output' }),
    JSON.stringify({ filename: 'secret.png', subfolder: '..', type: 'output' }),
    JSON.stringify({ filename: 'link.png', type: 'output' }),
    JSON.stringify({ filename: 'orig.png', type: 'bogus' }),
    'not json',
  ];
  for (const original_ref of bad) {
    const res = await upload(url, mask, 'm.png', { original_ref }, '/upload/mask');
    assert.ok([400, 403].includes(res.status), `${original_ref}: ${res.status}`);
  }
  const small = await sharp({ create: { width: 2, height: 2, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 1 } } }).png().toBuffer();
  assert.equal((await upload(url, small, 'm.png', { original_ref: ref }, '/upload/mask')).status, 400);
});
