import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';
import { CLIPTokenizer, CLIP_BOS, CLIP_EOS, bytesToUnicode, cleanText } from '../../../engine/models/clip/tokenizer.ts';
import { tokenizeWithWeights } from '../../../engine/models/clip/prompt.ts';

const tok = CLIPTokenizer.default();

test('default vocabulary: 49408 ids, specials at 49406/49407, byte symbols first', () => {
  assert.equal(tok.vocabSize, 49408);
  assert.equal(tok.bos, CLIP_BOS);
  assert.equal(tok.eos, CLIP_EOS);
  assert.equal(tok.encoder.get('!'), 0);
  assert.equal(tok.encoder.get('!</w>'), 256);
  assert.equal(tok.encoder.get('in'), 512, 'the first merge ("i n") is id 512');
});

test('hand-checked ids of the real vocabulary', () => {
  // Ids as OpenAI's tokenizer gives them (also in the conformance cases' token_ids).
  assert.deepEqual(tok.encode('a photo of a cat'), [320, 1125, 539, 320, 2368]);
  assert.deepEqual(tok.encode('masterpiece'), [12066]);
  assert.deepEqual(tok.encode('A  PHOTO\tof a\nCAT'), tok.encode('a photo of a cat'), 'lowercase + whitespace cleanup');
  assert.deepEqual(tok.encode('cat,'), [2368, 267], 'punctuation is its own pre-token');
  assert.deepEqual(tok.encode('35mm'), [274, 276, 2848], 'digits are one pre-token each');
  assert.deepEqual(tok.encode("it's"), [585, 568]);
  assert.deepEqual(tok.encode('<|endoftext|>'), [CLIP_EOS]);
  assert.deepEqual(tok.encode('a\u0000\u0007 cat'), tok.encode('a cat'), 'control characters dropped');
  assert.equal(tok.decode(tok.encode('an oil painting, 35mm')), 'an oil painting , 3 5 mm');
});

test('text cleanup follows transformers BasicTokenizer (no accent stripping, CJK split, NFC)', () => {
  assert.equal(cleanText('  Café\u00a0Noir  '), 'café noir');
  assert.equal(cleanText('日本a'), '日 本 a');
  assert.equal(cleanText('e\u0301'), 'é', 'NFC composes');
});

test('byte table is a bijection onto 256 printable code points', () => {
  const t = bytesToUnicode();
  assert.equal(new Set(t).size, 256);
  assert.equal(t[0x41], 'A');
  assert.equal(t[0x20], 'Ġ', 'space maps to U+0120 as in GPT-2/CLIP');
  // every byte sequence survives encode/decode, e.g. emoji and accented text
  assert.equal(tok.decode(tok.encode('naïve 🐱')), 'naïve 🐱');
});

test('fromFiles: an HF vocab.json + merges.txt, merges applied by rank with </w> on the last symbol', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-tok-'));
  try {
    const vocab: Record<string, number> = {};
    const add = (s: string) => (vocab[s] = Object.keys(vocab).length);
    for (const c of ['l', 'o', 'w', 'e', 'r', 'l</w>', 'o</w>', 'w</w>', 'e</w>', 'r</w>', 'lo', 'low', 'er</w>', 'low</w>', 'lower</w>']) add(c);
    add('<|startoftext|>'); add('<|endoftext|>');
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
    // "er</w>" ranks before "low", so "lower" becomes lo|w|er</w> → low|er</w> → lower</w>.
    writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\nl o\ne r</w>\nlo w\nlow er</w>\nlo w</w>\n');
    const t = CLIPTokenizer.fromFiles(join(dir, 'vocab.json'), join(dir, 'merges.txt'));
    assert.deepEqual(t.bpe('lower'), ['lower</w>']);
    assert.deepEqual(t.bpe('low'), ['low</w>']);
    assert.deepEqual(t.bpe('owe'), ['o', 'w', 'e</w>']);
    assert.deepEqual(t.encode('Lower low'), [vocab['lower</w>'], vocab['low</w>']]);
    assert.equal(t.eos, vocab['<|endoftext|>']);
    assert.deepEqual(t.encode('z'), [t.eos], 'a symbol outside the vocabulary becomes <|endoftext|> (unk)');
    writeFileSync(join(dir, 'bad.json'), '[1,2]');
    assert.throws(() => CLIPTokenizer.fromFiles(join(dir, 'bad.json'), join(dir, 'merges.txt')), /vocab.json must map tokens to ids/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const CONF = resolve(import.meta.dirname, '../../../../shared/conformance');
const HAVE = existsSync(join(CONF, 'cases.json'));

test('acceptance: text → ids + weights reproduce ComfyUI for every clip_/sdxl_clip_/sd2v_clip_ case', { skip: HAVE ? false : `${CONF} not found` }, () => {
  const cases = JSON.parse(readFileSync(join(CONF, 'cases.json'), 'utf8')).cases as Array<{ name: string; file: string; params: Record<string, unknown>; inputs: Record<string, { tensor: string }> }>;
  let checked = 0;
  for (const c of cases) {
    const text = c.params.text ?? c.params.text_l;
    if (typeof text !== 'string') continue;
    const f = SafetensorsFile.open(join(CONF, c.file));
    try {
      for (const suffix of ['', '_l', '_g']) {
        const ref = c.inputs[`token_ids${suffix}`];
        if (!ref) continue;
        const t = suffix === '_g' && typeof c.params.text_g === 'string' ? c.params.text_g : text;
        // OpenCLIP towers (SDXL clip_g, SD2) pad with 0; the embedding case's rows only need a count (3).
        const pad = suffix === '_g' || c.name.startsWith('sd2v_') ? 0 : CLIP_EOS;
        const lookup = c.params.embedding_directory_contains ? () => ({ vectors: new Float32Array(3 * 32), count: 3 }) : undefined;
        const r = tokenizeWithWeights(t, tok, { padId: pad, vocabSize: 49408, embeddings: lookup });
        const want = Array.from(f.readBigInt64(ref.tensor), Number);
        assert.deepEqual(r.chunks.flatMap((x) => Array.from(x.ids)), want, `${c.name}${suffix} ids`);
        const wref = c.inputs[`token_weights${suffix}`];
        if (wref) assert.deepEqual(r.chunks.flatMap((x) => Array.from(x.weights, Math.fround)), Array.from(f.readFloat32(wref.tensor)), `${c.name}${suffix} weights`);
        checked++;
      }
    } finally {
      f.close();
    }
  }
  assert.ok(checked >= 18, `only ${checked} token sequences checked`);
});
