import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import extract from 'png-chunks-extract';
import { isSafeNumber, parse } from 'lossless-json';

// Exact numbers: beyond 2^53 as BigInt, like the values that were written.
const parseNumberAndBigInt = (v: string) => (isSafeNumber(v) ? Number(v) : BigInt(v));
import { addPngText, asciiJson, jsonDumps, readPngText } from '../../../engine/io/png.ts';

test('jsonDumps writes what Python json.dumps writes', () => {
  // Python: json.dumps({"a": 1, "b": [1.5, "é"], "c": None, "d": True}) — separators ", " and ": ".
  assert.equal(jsonDumps({ a: 1, b: [1.5, 'é'], c: null, d: true }), '{"a": 1, "b": [1.5, "\\u00e9"], "c": null, "d": true}');
  assert.equal(jsonDumps([1e-5, 0.0001, 1.25e-7, 123.456, -0.5]), '[1e-05, 0.0001, 1.25e-07, 123.456, -0.5]');
  assert.equal(jsonDumps([NaN, Infinity, -Infinity]), '[NaN, Infinity, -Infinity]');
  assert.equal(jsonDumps('a"b\\c\n\t\u001f\u007f😀'), '"a\\"b\\\\c\\n\\t\\u001f\\u007f\\ud83d\\ude00"');
  assert.equal(jsonDumps({}), '{}');
  assert.equal(jsonDumps({ x: undefined, y: [undefined] }), '{"y": [null]}');
});

test('BigInt and lossless numbers are written as exact integers', () => {
  const seed = 2n ** 63n + 12345n;
  assert.equal(jsonDumps({ seed }), `{"seed": ${seed}}`);
  const lossless = parse('{"seed": 18446744073709551615}') as Record<string, unknown>;
  assert.equal(jsonDumps(lossless), '{"seed": 18446744073709551615}');
  assert.equal(asciiJson({ s: 'ü', n: 1n }), '{"s":"\\u00fc","n":1}');
});

test('text chunks go before IDAT and read back exactly', async () => {
  const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#102030' } }).png().toBuffer();
  const prompt = { '3': { inputs: { seed: 2n ** 60n + 1n, text: 'café 日本 😀' }, class_type: 'KSampler' } };
  const out = addPngText(png, { prompt: jsonDumps(prompt), workflow: jsonDumps({ nodes: [] }) });
  const names = extract(out).map((c) => c.name);
  assert.ok(names.indexOf('tEXt') < names.indexOf('IDAT'), names.join(','));
  assert.equal(names[0], 'IHDR');
  const texts = readPngText(out);
  assert.deepEqual(Object.keys(texts), ['prompt', 'workflow']);
  assert.deepEqual(parse(texts.prompt, null, parseNumberAndBigInt), prompt);
  // The image itself is untouched.
  assert.deepEqual(await sharp(out).raw().toBuffer(), await sharp(png).raw().toBuffer());
});

test('addPngText refuses text that is not latin-1', async () => {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer();
  assert.throws(() => addPngText(png, { prompt: '日本' }), /latin-1/);
});
