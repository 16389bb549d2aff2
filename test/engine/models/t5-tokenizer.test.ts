import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Msg } from '../../../engine/onnx/index.ts';
import { tokenizeT5Prompt } from '../../../engine/models/t5/prompt.ts';
import { T5Tokenizer, type T5TokenizerParts } from '../../../engine/models/t5/tokenizer.ts';
import { Unigram } from '../../../engine/models/t5/unigram.ts';
import { tmpDir } from '../onnx/ref.ts';

const dir = tmpDir('t5tok');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// Hand-made vocabulary: id = index.
const VOCAB: Array<[string, number]> = [
  ['<pad>', 0], ['</s>', 0], ['<unk>', 0], ['▁', -2], ['a', -3], ['b', -3], ['c', -3], ['ab', -4.5], ['▁ab', -7], ['abc', -6.8], ['▁a', -4], ['bc', -3.5],
];
const SPECIALS = [{ content: '<pad>', id: 0, special: true }, { content: '</s>', id: 1, special: true }, { content: '<unk>', id: 2, special: true }];
const parts = (o: Partial<T5TokenizerParts> = {}): T5TokenizerParts => ({
  pieces: VOCAB.map(([piece, score]) => ({ piece, score })), unkId: 2, added: SPECIALS, charsmap: null,
  stripRight: true, collapseSpaces: true, prepend: 'first', eosId: 1, padId: 0, ...o,
});

test('Viterbi picks the most probable segmentation, not the longest first piece', () => {
  const u = new Unigram(parts().pieces, 2);
  // "▁abc": ▁a+bc = −4−3.5 = −7.5 beats ▁+abc = −8.8, ▁+ab+c = −9.5, ▁ab+c = −10 (greedy longest), ▁a+b+c = −10.
  assert.deepEqual(u.segment('▁abc').map((t) => t.piece), ['▁a', 'bc']);
  // "▁ab": ▁+ab = −6.5 beats ▁ab = −7 and ▁a+b = −7.
  assert.deepEqual(u.segment('▁ab').map((t) => t.id), [3, 7]);
  // Unknown characters cost min(score) − 10 = −17 each; a run of them becomes ONE <unk>.
  assert.deepEqual(u.segment('▁axxb'), [{ piece: '▁a', id: 10 }, { piece: 'xx', id: 2 }, { piece: 'b', id: 5 }]);
  assert.deepEqual(u.segment(''), []);
});

test('pipeline: space collapsing, ▁ prepended to the first run only, special tokens cut out, </s> appended', () => {
  const t = new T5Tokenizer(parts());
  assert.deepEqual(t.words('ab  c   '), ['▁ab', '▁c']);
  assert.deepEqual(t.encode('abc'), [10, 11, 1]);
  assert.deepEqual(t.encode('ab  c'), [3, 7, 3, 6, 1]);
  // After an added token the next run gets no ▁ under prepend_scheme "first", one under "always".
  assert.deepEqual(t.encode('ab</s>c'), [3, 7, 1, 6, 1]);
  assert.deepEqual(new T5Tokenizer(parts({ prepend: 'always' })).encode('ab</s>c'), [3, 7, 1, 3, 6, 1]);
  assert.deepEqual(t.encode(''), [1]);
  assert.equal(t.decode(t.encode('abc ab c')), 'abc ab c');
  assert.equal(t.decode([10, 2, 5, 1]), 'ab');
  assert.equal(t.decode([10, 2, 5, 1], { skipSpecial: false }), 'a<unk>b</s>');
  assert.throws(() => t.decode([99]), /outside the vocabulary/);
});

test('spiece.model protobuf: same ids as the JSON form, 100 <extra_id_N> appended in reverse', () => {
  const model = new Msg();
  VOCAB.forEach(([piece, score], id) => model.msg(1, new Msg().str(1, piece).float(2, score).int(3, id === 2 ? 2 : id < 2 ? 3 : 1)));
  model.msg(2, new Msg().int(40, 2).int(41, 2n ** 64n - 1n).int(42, 1).int(43, 0));
  model.msg(3, new Msg().str(1, 'identity').int(3, 1).int(4, 1));
  const p = path.join(dir, 'spiece.model');
  fs.writeFileSync(p, model.toBytes());
  const t = T5Tokenizer.fromFolders([path.join(dir, 'missing'), dir]);
  assert.equal(t.vocabSize, VOCAB.length + 100);
  assert.deepEqual(t.encode('abc <extra_id_0>ab  c'), [10, 11, VOCAB.length + 99, 7, 3, 6, 1]);
  assert.throws(() => T5Tokenizer.fromFolders([path.join(dir, 'nowhere')]), /Put the T5 v1\.1 tokenizer\.json .* into one of: .*nowhere/);
  fs.writeFileSync(path.join(dir, 'bad.model'), Buffer.from([0x0a, 0x05, 0x01]));
  assert.throws(() => T5Tokenizer.fromSpieceModel(path.join(dir, 'bad.model')), /bad\.model: truncated protobuf/);
});

const real = path.resolve(import.meta.dirname, '../../../../shared/tokenizers/t5/tokenizer.json');
const skip = fs.existsSync(real) ? false : `${real} not present`;

test('T5 v1.1 tokenizer.json: ids as published in the transformers T5 documentation', { skip }, () => {
  const t = T5Tokenizer.fromTokenizerJson(real);
  assert.equal(t.vocabSize, 32100);
  assert.deepEqual(t.encode('Hello world'), [8774, 296, 1]);
  assert.deepEqual(t.encode('translate English to German: The house is wonderful.'), [13959, 1566, 12, 2968, 10, 37, 629, 19, 1627, 5, 1]);
  assert.deepEqual(t.encode('Das Haus ist wunderbar.'), [644, 4598, 229, 19250, 5, 1]);
  assert.deepEqual(t.encode('The <extra_id_0> walks in <extra_id_1> park'), [37, 32099, 10681, 16, 32098, 2447, 1]);
  // T5's vocabulary has no "▁a": a lone "a" is "▁" + "a".
  assert.deepEqual(t.encode('a photo of a cat'), [3, 9, 1202, 13, 3, 9, 1712, 1]);
});

test('T5 tokenizer.json: NFKC charsmap, whitespace rules, unknown characters, decode round trip', { skip }, () => {
  const t = T5Tokenizer.fromTokenizerJson(real);
  assert.deepEqual(t.encode('ﬁne Ｔｅｓｔ'), t.encode('fine Test'));
  assert.deepEqual(t.encode('cafe\u0301'), t.encode('café'));
  assert.deepEqual(t.encode('two   spaces  '), t.encode('two spaces'));
  assert.ok(t.encode('日本語').includes(2), 'characters outside the vocabulary map to <unk>');
  for (const s of ['A lighthouse on a rocky cliff, oil painting, dramatic sky.', 'Photo of 3 cats (orange) & 2 dogs!', 'Hello world']) {
    assert.equal(t.decode(t.encode(s)), s);
  }
});

test('ComfyUI T5XXL prompt tokenisation: word by word, weights, one </s>, padded with 0 to 256, never cut', { skip }, () => {
  const t = T5Tokenizer.fromTokenizerJson(real);
  const r = tokenizeT5Prompt('a photo of a (cat:1.2)', t);
  assert.equal(r.ids.length, 256);
  assert.deepEqual(r.ids.slice(0, 9), [3, 9, 1202, 13, 3, 9, 1712, 1, 0]);
  assert.deepEqual(r.weights.slice(0, 8), [1, 1, 1, 1, 1, 1, 1.2, 1]);
  assert.ok(r.ids.slice(8).every((id) => id === 0) && r.weights.slice(8).every((w) => w === 1));
  assert.deepEqual(tokenizeT5Prompt('', t).ids.slice(0, 2), [1, 0]);
  const long = tokenizeT5Prompt(Array.from({ length: 300 }, () => 'cat').join(' '), t);
  assert.equal(long.ids.length, 301);
  assert.equal(long.ids[300], 1);
});
