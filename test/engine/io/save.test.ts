import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isSafeNumber, parse } from 'lossless-json';

// Exact numbers: beyond 2^53 as BigInt, like the values that were written.
const parseNumberAndBigInt = (v: string) => (isSafeNumber(v) ? Number(v) : BigInt(v));
import { expandPrefixTokens, formatDate, nextCounter, saveImages, saveSequence, writeNewFile } from '../../../engine/io/save.ts';
import { readPngText } from '../../../engine/io/png.ts';
import { decodeImage } from '../../../engine/tensor/image.ts';

const made: string[] = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-save-'));
  made.push(d);
  return d;
}
const bytes = (s: string) => new TextEncoder().encode(s);
const seq = (root: string, prefix: string, items: Uint8Array[]) =>
  saveSequence({ root, type: 'output', prefix, tokens: { width: 64, height: 32 }, ext: 'png' }, items);

test('counter continues after the highest existing one for that prefix only', async () => {
  const root = tempDir();
  for (const f of ['ComfyUI_00007_.png', 'ComfyUI_00003_.webp', 'ComfyUIx_00099_.png', 'Other_00050_.png', 'ComfyUI_temp_abcde_00040_.png']) {
    fs.writeFileSync(path.join(root, f), 'old');
  }
  assert.equal(nextCounter(root, 'ComfyUI'), 8);
  assert.equal(nextCounter(root, 'Fresh'), 1);
  const saved = await seq(root, 'ComfyUI', [bytes('a'), bytes('b'), bytes('c')]);
  assert.deepEqual(saved, ['00008', '00009', '00010'].map((n) => ({ filename: `ComfyUI_${n}_.png`, subfolder: '', type: 'output' })));
  assert.equal(fs.readFileSync(path.join(root, 'ComfyUI_00009_.png'), 'utf8'), 'b');
  assert.equal(fs.readFileSync(path.join(root, 'ComfyUI_00007_.png'), 'utf8'), 'old');
});

test('concurrent saves never share or overwrite a file', async () => {
  const root = tempDir();
  const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => seq(root, 'race', [bytes(`${i}-0`), bytes(`${i}-1`)])));
  const names = runs.flat().map((s) => s.filename);
  assert.equal(new Set(names).size, 12);
  runs.forEach((r, i) => r.forEach((s, j) => assert.equal(fs.readFileSync(path.join(root, s.filename), 'utf8'), `${i}-${j}`)));
  assert.deepEqual(fs.readdirSync(root).filter((f) => f.startsWith('.')), [], 'no temp files left');
});

test('writeNewFile refuses a taken name and leaves the existing file alone', async () => {
  const root = tempDir();
  fs.writeFileSync(path.join(root, 'x.png'), 'keep');
  assert.equal(await writeNewFile(root, 'x.png', bytes('new')), false);
  assert.equal(fs.readFileSync(path.join(root, 'x.png'), 'utf8'), 'keep');
  assert.equal(await writeNewFile(root, 'y.png', bytes('new')), true);
  assert.deepEqual(fs.readdirSync(root).sort(), ['x.png', 'y.png']);
});

test('a write that fails part-way leaves nothing under the final name', () => {
  const root = tempDir();
  // File-size limit of 4 KiB: writing 64 KiB fails with EFBIG in the middle of the data.
  const script = `process.on('SIGXFSZ', () => {});
    const { writeNewFile } = await import(${JSON.stringify(path.resolve('engine/io/save.ts'))});
    try { await writeNewFile(${JSON.stringify(root)}, 'big.png', new Uint8Array(65536)); console.log('wrote'); }
    catch (e) { console.log('failed ' + e.code); }`;
  const r = spawnSync('bash', ['-c', 'ulimit -f 4 && exec node --import tsx --input-type=module -e "$0"', script], { encoding: 'utf8' });
  assert.match(r.stdout, /failed EFBIG/, r.stderr);
  assert.deepEqual(fs.readdirSync(root), []);
});

test('sub-folders inside the prefix are created and reported', async () => {
  const root = tempDir();
  const [a] = await seq(root, 'foo/bar/img', [bytes('1')]);
  assert.deepEqual(a, { filename: 'img_00001_.png', subfolder: 'foo/bar', type: 'output' });
  assert.ok(fs.existsSync(path.join(root, 'foo', 'bar', 'img_00001_.png')));
  const [b] = await seq(root, 'foo\\bar\\img', [bytes('2')]);
  assert.deepEqual(b, { filename: 'img_00002_.png', subfolder: 'foo/bar', type: 'output' });
});

test('tokens: %date:…%, %width%, %height%, %year%…, node-widget tokens left as written', () => {
  const now = new Date(2024, 2, 5, 7, 8, 9);
  assert.equal(formatDate('yyyy-MM-dd hh:mm:ss', now), '2024-03-05 07:08:09');
  assert.equal(formatDate('yy M d h m s', now), '24 3 5 7 8 9');
  assert.equal(
    expandPrefixTokens('%date:yyyy-MM-dd%/img_%width%x%height%_%year%%month%%day%-%hour%%minute%%second%', { width: 640, height: 480, now }),
    '2024-03-05/img_640x480_20240305-070809',
  );
  assert.equal(expandPrefixTokens('%Empty Latent Image.width%_x', { width: 1, height: 1, now }), '%Empty Latent Image.width%_x');
});

test('%batch_num% numbers batch elements', async () => {
  const root = tempDir();
  const saved = await seq(root, 'b%batch_num%', [bytes('0'), bytes('1')]);
  assert.deepEqual(saved.map((s) => s.filename), ['b0_00001_.png', 'b1_00002_.png']);
});

test('prefixes that would leave the folder are refused, naming filename_prefix', async () => {
  const root = path.join(tempDir(), 'out');
  const outside = tempDir();
  fs.mkdirSync(root);
  fs.symlinkSync(outside, path.join(root, 'link'));
  for (const bad of ['../x', '/etc/x', 'C:\\x', 'a/../../x', '..\\x', '%2e%2e/x', 'a%2fb', 'link/x', 'ok/\0x', '']) {
    await assert.rejects(seq(root, bad, [bytes('z')]), (e: Error & { input?: string }) => e.name === 'WeftError' && e.input === 'filename_prefix', bad);
  }
  assert.deepEqual(fs.readdirSync(outside), []);
  assert.deepEqual(fs.readdirSync(root), ['link']);
});

test('saveImages embeds prompt and workflow as ComfyUI does and returns ui entries', async () => {
  const root = tempDir();
  const seed = 2n ** 60n + 7n;
  const prompt = { '3': { class_type: 'KSampler', inputs: { seed, cfg: 7.5 } }, '6': { class_type: 'CLIPTextEncode', inputs: { text: 'naïve café, 日本 😀' } } };
  const workflow = { nodes: [{ id: 3, widgets_values: [seed, 'randomize'] }], extra: { note: 'ünïcode' } };
  const data = new Float32Array(2 * 2 * 3 * 3).map((_, i) => (i % 5) / 4);
  const saved = await saveImages({ shape: [2, 2, 3, 3], data }, { root, type: 'output', prefix: 'run/%width%x%height%', compressionLevel: 4, prompt, extraPngInfo: { workflow } });
  assert.deepEqual(saved, [
    { filename: '3x2_00001_.png', subfolder: 'run', type: 'output' },
    { filename: '3x2_00002_.png', subfolder: 'run', type: 'output' },
  ]);
  const file = fs.readFileSync(path.join(root, 'run', '3x2_00002_.png'));
  const texts = readPngText(file);
  assert.deepEqual(Object.keys(texts), ['prompt', 'workflow']);
  assert.match(texts.prompt, /"seed": 1152921504606846983/);
  assert.ok(/^[\x20-\x7e]*$/.test(texts.prompt), 'ASCII only');
  assert.deepEqual(parse(texts.prompt, null, parseNumberAndBigInt), prompt);
  assert.deepEqual(parse(texts.workflow, null, parseNumberAndBigInt), workflow);
  const { image } = await decodeImage(file);
  assert.deepEqual([...image.data], [...data.subarray(18)].map((v) => Math.fround(Math.trunc(Math.fround(v * 255)) / 255)));
});

test('metadata can be turned off', async () => {
  const root = tempDir();
  await saveImages({ shape: [1, 1, 1, 3], data: new Float32Array(3) }, { root, type: 'output', prefix: 'n', compressionLevel: 4, prompt: { a: 1 }, metadata: false });
  assert.deepEqual(readPngText(fs.readFileSync(path.join(root, 'n_00001_.png'))), {});
});
