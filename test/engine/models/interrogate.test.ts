import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FullClipModel, cosineMatrix, normalizeRows } from '../../../engine/models/clip-vision/index.ts';
import { writeSafetensors } from '../../../engine/io/safetensors.ts';
import { tinyHfVision, writeTinyFullClip } from '../../../engine/models/clip-vision/synthetic.ts';
import { builtinLists, interrogate, mergeLists, parseList, phraseTables, promptSimilarities, readListDir, type PhraseList } from '../../../engine/models/interrogate/index.ts';
import { tensor } from '../../../engine/tensor/tensor.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-interrogate-'));
const clipPath = path.join(dir, 'tiny_full.safetensors');
writeTinyFullClip(clipPath, { vision: { width: 32, layers: 2, patch: 4, imageSize: 16 }, projection: 16 });

const lists: PhraseList[] = [
  { name: 'mediums', phrases: ['a photograph', 'an oil painting', 'a pencil sketch', 'a 3d render', 'a watercolor painting'] },
  { name: 'flavors', phrases: ['highly detailed', 'soft focus', 'vibrant colors', 'muted colors', 'film grain', 'dramatic lighting', 'a cat', 'a dog'] },
];

function image(seed: number) {
  const d = new Float32Array(16 * 16 * 3);
  let s = seed;
  for (let i = 0; i < d.length; i++) { s = (s * 1103515245 + 12345) % 2 ** 31; d[i] = s / 2 ** 31; }
  return tensor([1, 16, 16, 3], d);
}

test('lists: parsing skips comments/blanks/duplicates; user lists extend same-named lists; built-ins are Weft\'s own and non-trivial', () => {
  assert.deepEqual(parseList('# c\n a  b \n\nc\na b\r\n'), ['a b', 'c']);
  const merged = mergeLists([{ name: 'x', phrases: ['a'] }], [{ name: 'x', phrases: ['a', 'b'] }, { name: 'y', phrases: ['c'] }, { name: 'z', phrases: [] }]);
  assert.deepEqual(merged, [{ name: 'x', phrases: ['a', 'b'] }, { name: 'y', phrases: ['c'] }]);
  const b = builtinLists();
  assert.deepEqual(b.map((l) => l.name), ['mediums', 'styles', 'movements', 'lighting', 'flavors']);
  const total = b.reduce((n, l) => n + l.phrases.length, 0);
  assert.ok(total >= 200 && total <= 600, `${total} phrases`);
  const userDir = path.join(dir, 'user');
  fs.mkdirSync(userDir);
  fs.writeFileSync(path.join(userDir, 'mediums.txt'), 'a tin toy\n');
  assert.deepEqual(readListDir(userDir), [{ name: 'mediums', phrases: ['a tin toy'] }]);
});

test('ranking equals a brute-force cosine ranking over the same embeddings', async () => {
  const clip = FullClipModel.open(clipPath, { threads: 1 });
  const img = image(1);
  const r = await interrogate(clip, img, lists, { mode: 'fast' });
  const phrases = lists.flatMap((l) => l.phrases);
  const text = await clip.textEmbeds(phrases);
  const cos = cosineMatrix(await clip.imageEmbeds(img), text, clip.dim);
  const brute = phrases.map((p, i) => ({ p, s: cos[i]! })).sort((a, b) => b.s - a.s);
  assert.deepEqual(r.ranking.map((x) => x.phrase), brute.map((x) => x.p));
  r.ranking.forEach((x, i) => assert.ok(Math.abs(x.score - brute[i]!.s) < 1e-5));
  // fast = the best phrase of each list, in list order
  const bestOf = (name: string) => r.ranking.find((x) => x.list === name)!.phrase;
  assert.equal(r.prompt, `${bestOf('mediums')}, ${bestOf('flavors')}`);
  await clip.release();
});

test('best: greedy prompt is built from top phrases and its similarity is ≥ the best single phrase\'s', async () => {
  const clip = FullClipModel.open(clipPath, { threads: 1 });
  const img = image(2);
  const r = await interrogate(clip, img, lists, { mode: 'best', candidatesPerList: 3, maxPhrases: 5 });
  const parts = r.prompt.split(', ');
  assert.equal(parts[0], r.ranking[0]!.phrase);
  const top = new Set(lists.flatMap((l) => r.ranking.filter((x) => x.list === l.name).slice(0, 3).map((x) => x.phrase)));
  for (const p of parts) assert.ok(top.has(p), `${p} is not a top-3 phrase of its list`);
  assert.ok(parts.length <= 5 && new Set(parts).size === parts.length);
  assert.ok(r.similarity >= r.ranking[0]!.score - 1e-6, `${r.similarity} < ${r.ranking[0]!.score}`);
  const [again] = await promptSimilarities(clip, normalizeRows(await clip.imageEmbeds(img), clip.dim), [r.prompt]);
  assert.ok(Math.abs(again! - r.similarity) < 1e-5);
  await clip.release();
});

test('disk cache: a second model instance reuses the list embeddings and encodes no list phrase', async () => {
  const cacheDir = path.join(dir, 'cache');
  const n = lists.reduce((a, l) => a + l.phrases.length, 0);
  const first = FullClipModel.open(clipPath, { threads: 1 });
  const t1 = await phraseTables(first, lists, cacheDir);
  assert.equal(first.textsEncoded, n);
  await first.release();
  const second = FullClipModel.open(clipPath, { threads: 1 });
  const t2 = await phraseTables(second, lists, cacheDir);
  assert.equal(second.textsEncoded, 0);
  assert.deepEqual(t2.map((t) => Array.from(t.embeds)), t1.map((t) => Array.from(t.embeds)));
  // a whole fast interrogation now only encodes its final prompt
  await interrogate(second, image(3), lists, { mode: 'fast', cacheDir });
  assert.equal(second.textsEncoded, 1);
  // a changed list is a new cache entry
  await phraseTables(second, [{ name: 'mediums', phrases: ['a mosaic'] }], cacheDir);
  assert.equal(second.textsEncoded, 2);
  await second.release();
});

test('full CLIP: refuses a vision-only file with a message naming it', () => {
  const p = path.join(dir, 'vision_only.safetensors');
  writeSafetensors(p, tinyHfVision({ width: 32, layers: 2, projection: 16 }));
  assert.throws(() => FullClipModel.open(p), (e: Error) => e.message.includes(p) && /not a full CLIP model/.test(e.message));
});

const conf = path.resolve(import.meta.dirname, '../../../../shared/conformance');
const why = fs.existsSync(path.join(conf, 'models/clip/tiny_clip_full.safetensors')) ? false : `${conf} not found (no shared tiny CLIP)`;

test('best on the shared tiny CLIP: the greedy search grows the prompt and strictly raises the similarity', { skip: why }, async () => {
  const clip = FullClipModel.open(path.join(conf, 'models/clip/tiny_clip_full.safetensors'), { threads: 1 });
  const r = await interrogate(clip, tensor([1, 64, 64, 3], new Float32Array(64 * 64 * 3).fill(0.5)), builtinLists(), { mode: 'best' });
  assert.ok(r.prompt.split(', ').length > 1, r.prompt);
  assert.ok(r.similarity > r.ranking[0]!.score, `${r.similarity} vs ${r.ranking[0]!.score}`);
  await clip.release();
});
