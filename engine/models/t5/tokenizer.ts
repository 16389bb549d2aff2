/**
 * The T5 SentencePiece tokenizer, as T5TokenizerFast (HF tokenizers) runs it for ComfyUI:
 * added/special tokens (`<pad>`, `</s>`, `<unk>`, `<extra_id_N>`) are cut out of the raw text first; each
 * remaining piece is normalised (precompiled charsmap, right strip, runs of 2+ spaces → one `▁`), then the
 * Metaspace pre-tokeniser turns spaces into `▁`, prepends `▁` (to the piece at the start of the text only
 * for prepend_scheme "first", to every piece for "always") and splits before each `▁`; every word is
 * segmented by the unigram model, and `</s>` is appended.
 *
 * Sources: HF `tokenizer.json` (its normaliser / pre-tokeniser / model blocks are read, not assumed) or a
 * SentencePiece `spiece.model` (converted the way transformers converts T5: 100 `<extra_id_N>` tokens
 * appended in reverse order). The product never ships either file: it reads them from the user's folders.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WeftError } from '../../errors.ts';
import { PrecompiledCharsmap } from './charsmap.ts';
import { parseSpm, PIECE_TYPE } from './spm.ts';
import { Unigram, type UnigramPiece } from './unigram.ts';

export const T5_PAD = 0;
export const T5_EOS = 1;
const SPACE = '\u2581';

export type PrependScheme = 'first' | 'always' | 'never';

export interface T5TokenizerParts {
  pieces: UnigramPiece[];
  unkId: number;
  /** Text matched verbatim before normalisation; `special` ones are dropped by decode({ skipSpecial }). */
  added: Array<{ content: string; id: number; special: boolean }>;
  charsmap: PrecompiledCharsmap | null;
  stripRight: boolean;
  collapseSpaces: boolean;
  prepend: PrependScheme;
  eosId: number;
  padId: number;
}

/** Where a T5 tokenizer is looked for inside a folder, in order. */
export const T5_TOKENIZER_FILES = ['tokenizer.json', 'spiece.model'] as const;

export class T5Tokenizer {
  readonly model: Unigram;
  readonly eosId: number;
  readonly padId: number;
  private readonly added: T5TokenizerParts['added'];
  private readonly addedById = new Map<number, { content: string; special: boolean }>();
  private readonly addedRe: RegExp | null;
  private readonly p: T5TokenizerParts;

  constructor(parts: T5TokenizerParts) {
    this.p = parts;
    this.model = new Unigram(parts.pieces, parts.unkId);
    this.eosId = parts.eosId;
    this.padId = parts.padId;
    // Longest first, so the alternation picks the longest added token at each position.
    this.added = [...parts.added].sort((a, b) => b.content.length - a.content.length);
    for (const a of parts.added) this.addedById.set(a.id, a);
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.addedRe = this.added.length ? new RegExp(this.added.map((a) => esc(a.content)).join('|'), 'gu') : null;
  }

  get vocabSize(): number {
    return this.model.pieces.length;
  }

  static fromTokenizerJson(path: string): T5Tokenizer {
    let doc: any;
    try {
      doc = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new WeftError(`${path}: cannot read the T5 tokenizer (${(e as Error).message})`, { file: path, type: 'model_load_error' });
    }
    const model = doc?.model;
    if (model?.type !== 'Unigram' || !Array.isArray(model.vocab)) throw new WeftError(`${path}: not a SentencePiece unigram tokenizer (model.type is ${model?.type ?? 'missing'}); FLUX needs the T5 v1.1 tokenizer.json`, { file: path, type: 'model_load_error' });
    const pieces: UnigramPiece[] = model.vocab.map((v: [string, number]) => ({ piece: v[0], score: v[1] }));
    const norms: any[] = doc.normalizer?.type === 'Sequence' ? doc.normalizer.normalizers : doc.normalizer ? [doc.normalizer] : [];
    const parts: T5TokenizerParts = {
      pieces, unkId: model.unk_id ?? 2, added: [], charsmap: null, stripRight: false, collapseSpaces: false, prepend: 'always', eosId: T5_EOS, padId: T5_PAD,
    };
    for (const n of norms) {
      if (n.type === 'Precompiled' && n.precompiled_charsmap) parts.charsmap = PrecompiledCharsmap.fromBase64(n.precompiled_charsmap, path);
      else if (n.type === 'Strip') parts.stripRight = !!n.strip_right;
      else if (n.type === 'Replace' && n.pattern?.Regex === ' {2,}' && n.content === SPACE) parts.collapseSpaces = true;
      else throw new WeftError(`${path}: unsupported normalizer ${JSON.stringify(n.type)} in the T5 tokenizer`, { file: path, type: 'model_load_error' });
    }
    const pre = doc.pre_tokenizer?.type === 'Sequence' ? doc.pre_tokenizer.pretokenizers?.find((x: any) => x.type === 'Metaspace') : doc.pre_tokenizer;
    if (pre?.type !== 'Metaspace') throw new WeftError(`${path}: the T5 tokenizer needs a Metaspace pre-tokenizer, found ${pre?.type ?? 'none'}`, { file: path, type: 'model_load_error' });
    parts.prepend = pre.prepend_scheme ?? (pre.add_prefix_space === false ? 'never' : 'always');
    for (const a of doc.added_tokens ?? []) parts.added.push({ content: a.content, id: a.id, special: !!a.special });
    const eos = parts.added.find((a) => a.content === '</s>');
    if (eos) parts.eosId = eos.id;
    const pad = parts.added.find((a) => a.content === '<pad>');
    if (pad) parts.padId = pad.id;
    return new T5Tokenizer(parts);
  }

  static fromSpieceModel(path: string): T5Tokenizer {
    const m = parseSpm(new Uint8Array(readFileSync(path)), path);
    const pieces: UnigramPiece[] = m.pieces.map((p) => ({ piece: p.piece, score: p.score }));
    const added: T5TokenizerParts['added'] = [];
    m.pieces.forEach((p, id) => {
      if (p.type === PIECE_TYPE.control || p.type === PIECE_TYPE.unknown) added.push({ content: p.piece, id, special: true });
    });
    for (let i = 99; i >= 0; i--) {
      added.push({ content: `<extra_id_${i}>`, id: pieces.length, special: true });
      pieces.push({ piece: `<extra_id_${i}>`, score: 0 });
    }
    return new T5Tokenizer({
      pieces, unkId: m.unkId, added, charsmap: m.charsmap ? new PrecompiledCharsmap(m.charsmap, path) : null,
      stripRight: m.removeExtraWhitespaces, collapseSpaces: m.removeExtraWhitespaces, prepend: m.addDummyPrefix ? 'first' : 'never',
      eosId: m.eosId >= 0 ? m.eosId : T5_EOS, padId: m.padId >= 0 ? m.padId : T5_PAD,
    });
  }

  /** The first of tokenizer.json / spiece.model found in `folders`; the error says what to put where. */
  static fromFolders(folders: readonly string[]): T5Tokenizer {
    for (const dir of folders) {
      for (const name of T5_TOKENIZER_FILES) {
        const p = join(dir, name);
        if (!existsSync(p)) continue;
        return name === 'spiece.model' ? T5Tokenizer.fromSpieceModel(p) : T5Tokenizer.fromTokenizerJson(p);
      }
    }
    throw new WeftError(
      `No T5 tokenizer found. Put the T5 v1.1 tokenizer.json (from google/t5-v1_1-xxl) or spiece.model into one of: ${folders.join(', ')}`,
      { type: 'model_load_error', details: `looked for ${T5_TOKENIZER_FILES.join(' / ')}` },
    );
  }

  /** Splits raw text into added-token ids and plain text runs (with their start offsets). */
  private splitAdded(text: string): Array<{ id: number } | { text: string; start: number }> {
    if (!this.addedRe) return [{ text, start: 0 }];
    const out: Array<{ id: number } | { text: string; start: number }> = [];
    let last = 0;
    for (const m of text.matchAll(this.addedRe)) {
      if (m.index > last) out.push({ text: text.slice(last, m.index), start: last });
      out.push({ id: this.added.find((a) => a.content === m[0])!.id });
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push({ text: text.slice(last), start: last });
    return out;
  }

  /** Normalised, pre-tokenised words of one plain-text run (each starting with ▁ where one is due). */
  words(text: string, atStart = true): string[] {
    let s = this.p.charsmap ? this.p.charsmap.normalize(text) : text;
    if (this.p.stripRight) s = s.replace(/\s+$/u, '');
    if (this.p.collapseSpaces) s = s.replace(/ {2,}/g, SPACE);
    s = s.replaceAll(' ', SPACE);
    if (s === '') return [];
    if (!s.startsWith(SPACE) && (this.p.prepend === 'always' || (this.p.prepend === 'first' && atStart))) s = SPACE + s;
    const out: string[] = [];
    let cur = '';
    for (const ch of s) {
      if (ch === SPACE && cur !== '') {
        out.push(cur);
        cur = '';
      }
      cur += ch;
    }
    if (cur !== '') out.push(cur);
    return out;
  }

  /** Ids of `text` without the trailing `</s>` (and the pieces, for debugging). */
  tokenize(text: string): Array<{ piece: string; id: number }> {
    const out: Array<{ piece: string; id: number }> = [];
    for (const part of this.splitAdded(text)) {
      if ('id' in part) {
        out.push({ piece: this.model.pieces[part.id]?.piece ?? this.addedById.get(part.id)!.content, id: part.id });
        continue;
      }
      for (const w of this.words(part.text, part.start === 0)) out.push(...this.model.segment(w));
    }
    return out;
  }

  /** tokenizer(text).input_ids: the pieces' ids followed by `</s>`. */
  encode(text: string): number[] {
    return [...this.tokenize(text).map((t) => t.id), this.eosId];
  }

  /** Metaspace decoding: ▁ → space, the first word's leading space dropped; special tokens skipped by default. */
  decode(ids: ArrayLike<number | bigint>, o: { skipSpecial?: boolean } = {}): string {
    const skip = o.skipSpecial ?? true;
    let out = '';
    let first = true;
    for (let i = 0; i < ids.length; i++) {
      const id = Number(ids[i]);
      const added = this.addedById.get(id);
      if (added?.special && skip) continue;
      let piece = added?.content ?? this.model.pieces[id]?.piece;
      if (piece === undefined) throw new WeftError(`T5 decode: token id ${id} is outside the vocabulary of ${this.vocabSize}`);
      piece = piece.replaceAll(SPACE, ' ');
      if (first && this.p.prepend !== 'never' && piece.startsWith(' ')) piece = piece.slice(1);
      first = false;
      out += piece;
    }
    return out;
  }
}
