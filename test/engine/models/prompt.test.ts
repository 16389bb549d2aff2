import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIPTokenizer, CLIP_BOS, CLIP_EOS } from '../../../engine/models/clip/tokenizer.ts';
import { applyA1111Weights, parseParentheses, parsePrompt, pythonFloat, tokenizeWithWeights, type EmbeddingLookup } from '../../../engine/models/clip/prompt.ts';

const tok = CLIPTokenizer.default();
const seg = (text: string) => parsePrompt(text).map((s) => [s.text, +s.weight.toFixed(6)]);

test('weights: (a) ×1.1, nesting multiplies, (a:w) sets, outer levels do not multiply an explicit weight', () => {
  assert.deepEqual(seg('a (b) c'), [['a ', 1], ['b', 1.1], [' c', 1]]);
  assert.deepEqual(seg('((dog))'), [['dog', 1.21]]);
  assert.deepEqual(seg('(red:1.3) cat'), [['red', 1.3], [' cat', 1]]);
  assert.deepEqual(seg('((a:1.5))'), [['a', 1.5]]);
  assert.deepEqual(seg('(a (b:0.5) c)'), [['a ', 1.1], ['b', 0.5], [' c', 1.1]]);
  assert.deepEqual(seg('(x:2) ((y)) (z:0.8)'), [['x', 2], [' ', 1], ['y', 1.21], [' ', 1], ['z', 0.8]]);
});

test('syntax edge cases as ComfyUI: [] is plain text, escapes, bad numbers, colons, unbalanced parentheses', () => {
  assert.deepEqual(seg('[cat]'), [['[cat]', 1]], 'no A1111 de-emphasis');
  assert.deepEqual(seg('\\(cat\\) (dog)'), [['(cat) ', 1], ['dog', 1.1]]);
  assert.deepEqual(seg('(time: now)'), [['time: now', 1.1]], 'not a number: the colon stays, ×1.1');
  assert.deepEqual(seg('(a:b:1.4)'), [['a:b', 1.4]], 'the last colon holds the weight');
  assert.deepEqual(seg('(:1.4)'), [[':1.4', 1.1]], 'a colon at position 0 is not a weight');
  assert.deepEqual(seg('( big :1.2 )'), [[' big ', 1.2]], 'Python float() strips spaces');
  assert.deepEqual(parseParentheses('a) (b'), ['a) (b'], 'stray ")" drops the level below zero and keeps the text');
  assert.deepEqual(parseParentheses('(a'), ['(a']);
  assert.deepEqual(seg('(a'), [['(a', 1]]);
  assert.equal(pythonFloat(' 1_0 '), 10);
  assert.equal(pythonFloat('1e-1'), 0.1);
  assert.equal(pythonFloat('.5'), 0.5);
  assert.equal(pythonFloat('-inf'), -Infinity);
  assert.equal(pythonFloat('1..2'), null);
  assert.equal(pythonFloat(''), null);
});

test('chunks: [BOS, tokens, EOS, pad…] of 77, weights per token, the pad id is the caller\'s', () => {
  const r = tokenizeWithWeights('a (red:1.3) cat', tok, { padId: 0, vocabSize: 49408 });
  assert.equal(r.chunks.length, 1);
  const { ids, weights } = r.chunks[0]!;
  assert.deepEqual(Array.from(ids).slice(0, 6), [CLIP_BOS, 320, 736, 2368, CLIP_EOS, 0]);
  assert.equal(ids.length, 77);
  assert.deepEqual(Array.from(weights).slice(0, 5), [1, 1, 1.3, 1, 1]);
  assert.equal(r.extra, null);
  const empty = tokenizeWithWeights('', tok, { padId: CLIP_EOS, vocabSize: 49408 });
  assert.deepEqual(Array.from(empty.chunks[0]!.ids), [CLIP_BOS, ...new Array(76).fill(CLIP_EOS)]);
});

test('long prompts: 75 tokens per chunk; a short word moves whole to the next chunk, a word of ≥ 8 tokens is split', () => {
  // 74 one-token words, then "cat," (2 tokens) does not fit in the last free slot → moves whole.
  const words = new Array(74).fill('a');
  const r = tokenizeWithWeights(`${words.join(' ')} cat,`, tok, { padId: CLIP_EOS, vocabSize: 49408 });
  assert.equal(r.chunks.length, 2);
  const c0 = Array.from(r.chunks[0]!.ids), c1 = Array.from(r.chunks[1]!.ids);
  assert.deepEqual(c0.slice(74, 77), [320, CLIP_EOS, CLIP_EOS], 'slot 75 stays padding');
  assert.deepEqual(c1.slice(0, 4), [CLIP_BOS, 2368, 267, CLIP_EOS]);
  // A 10-token "word" (digits are one token each) is split at the boundary instead.
  const long = tokenizeWithWeights(`${words.join(' ')} 0123456789`, tok, { padId: CLIP_EOS, vocabSize: 49408 });
  const l0 = Array.from(long.chunks[0]!.ids), l1 = Array.from(long.chunks[1]!.ids);
  assert.deepEqual(l0.slice(75, 77), [271, CLIP_EOS], 'first digit fills the last slot');
  assert.equal(l1.slice(1).indexOf(CLIP_EOS), 9, 'nine digits continue in chunk 2');
  // Exactly 75 tokens fit in one chunk.
  assert.equal(tokenizeWithWeights(new Array(75).fill('a').join(' '), tok, { padId: CLIP_EOS, vocabSize: 49408 }).chunks.length, 1);
  assert.equal(tokenizeWithWeights(new Array(76).fill('a').join(' '), tok, { padId: CLIP_EOS, vocabSize: 49408 }).chunks.length, 2);
});

test('embedding:name → extra rows with ids ≥ vocab, weighted, comma-tolerant; missing names warn and are skipped', () => {
  const vec = Float32Array.from({ length: 2 * 4 }, (_, i) => i);
  const asked: string[] = [];
  const lookup: EmbeddingLookup = (name) => { asked.push(name); return name === 'style' ? { vectors: vec, count: 2 } : { error: 'not there' }; };
  const warnings: string[] = [];
  const r = tokenizeWithWeights('a (embedding:style:1.2) embedding:style, embedding:nope cat', tok, { padId: CLIP_EOS, vocabSize: 1000, embeddings: lookup, warn: (m) => warnings.push(m) });
  const ids = Array.from(r.chunks[0]!.ids);
  assert.deepEqual(ids.slice(0, 8), [CLIP_BOS, 320, 1000, 1001, 1002, 1003, 267, 2368]);
  assert.deepEqual(Array.from(r.chunks[0]!.weights).slice(1, 5), [1, 1.2, 1.2, 1]);
  assert.deepEqual(Array.from(r.extra!), [...vec, ...vec], 'each use gets its own rows');
  assert.deepEqual(asked, ['style', 'style,', 'style', 'nope'], 'a trailing comma is retried without it');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /embedding:nope ignored: not there/);
  assert.deepEqual(r.embeddingsUsed, ['style', 'style']);
  // Without an embeddings source the word is plain text, as ComfyUI without an embeddings folder.
  const plain = tokenizeWithWeights('embedding:style', tok, { padId: CLIP_EOS, vocabSize: 1000 });
  assert.deepEqual(Array.from(plain.chunks[0]!.ids).slice(1, 4), tok.encode('embedding:style').slice(0, 3));
});

test('A1111 weighting: z·w per token, then the chunk mean is restored', () => {
  const T = 3, C = 2;
  const z = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const chunk = { ids: [1, 2, 3], weights: [1, 2, 1] };
  const out = applyA1111Weights(z, [chunk], C);
  // weighted: [1,2,6,8,5,6] (sum 28) → scaled by 21/28
  const expect = [1, 2, 6, 8, 5, 6].map((v) => Math.fround(v * Math.fround(21 / 28)));
  assert.deepEqual(Array.from(out), expect);
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / (T * C);
  assert.ok(Math.abs(mean(out) - mean(z)) < 1e-6);
  assert.deepEqual(Array.from(applyA1111Weights(z, [{ ids: [1, 2, 3], weights: [1, 1, 1] }], C)), Array.from(z), 'weights of 1 change nothing');
});
