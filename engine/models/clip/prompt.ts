/**
 * ComfyUI's prompt syntax (comfy/sd1_clip.py): `(text)` ×1.1 per level, `(text:w)` sets w (outer levels do
 * not multiply it), `\(` `\)` literal, `embedding:name[.ext]` words (a trailing comma is tolerated), and the
 * 77-token chunking rule. `[text]` is plain text here, as in ComfyUI (A1111's de-emphasis is not ComfyUI's).
 *
 * Two ways to apply the weights are offered, chosen explicitly so a workflow records which it used:
 * - 'comfy' (default): z = (z − z_empty)·w + z_empty per token (done in encode.ts);
 * - 'a1111': A1111's "Original" emphasis — z·w per token, then each 77-token chunk is rescaled so that the
 *   mean over all its values equals the unweighted chunk's mean (`applyA1111Weights`).
 */
import type { TokenChunk } from './encode.ts';
import type { CLIPTokenizer } from './tokenizer.ts';

export type WeightingMode = 'comfy' | 'a1111';
export const WEIGHTING_MODES: readonly WeightingMode[] = ['comfy', 'a1111'];

export const EMBEDDING_PREFIX = 'embedding:';

/** Escaped parentheses are hidden behind control characters while parsing, then restored. */
export function escapeImportant(text: string): string {
  return text.replaceAll('\\)', '\0\u0001').replaceAll('\\(', '\0\u0002');
}

export function unescapeImportant(text: string): string {
  return text.replaceAll('\0\u0001', ')').replaceAll('\0\u0002', '(');
}

/** Splits at top-level parenthesised groups; unbalanced `)` are kept as text, as ComfyUI does. */
export function parseParentheses(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let level = 0;
  for (const ch of s) {
    if (ch === '(') {
      if (level === 0) {
        if (cur) out.push(cur);
        cur = '(';
      } else cur += ch;
      level++;
    } else if (ch === ')') {
      level--;
      if (level === 0) {
        out.push(cur + ')');
        cur = '';
      } else cur += ch;
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

const DIGITS = String.raw`\d(?:_?\d)*`;
const PY_FLOAT = new RegExp(String.raw`^[+-]?(?:(?:${DIGITS}\.(?:${DIGITS})?|\.${DIGITS}|${DIGITS})(?:[eE][+-]?${DIGITS})?|inf|infinity|nan)$`, 'i');

/** Python's float(str), or null where Python raises (the weight is then not taken from the text). */
export function pythonFloat(s: string): number | null {
  const t = s.trim();
  if (!PY_FLOAT.test(t)) return null;
  const v = t.replaceAll('_', '').toLowerCase();
  if (v.endsWith('inf') || v.endsWith('infinity')) return v.startsWith('-') ? -Infinity : Infinity;
  if (v.endsWith('nan')) return NaN;
  return Number(v);
}

/** ComfyUI token_weights: (segment, weight) pairs in order. */
export function tokenWeights(text: string, weight = 1.0): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (let x of parseParentheses(text)) {
    if (x.length >= 2 && x.startsWith('(') && x.endsWith(')')) {
      x = x.slice(1, -1);
      let w = weight * 1.1;
      const colon = x.lastIndexOf(':');
      if (colon > 0) {
        const v = pythonFloat(x.slice(colon + 1));
        if (v !== null) {
          w = v;
          x = x.slice(0, colon);
        }
      }
      out.push(...tokenWeights(x, w));
    } else out.push([x, weight]);
  }
  return out;
}

/** Segments of the prompt with their weights, escapes resolved. */
export function parsePrompt(text: string): Array<{ text: string; weight: number }> {
  return tokenWeights(escapeImportant(text)).map(([t, w]) => ({ text: unescapeImportant(t), weight: w }));
}

/** Vectors of one embedding for one encoder ([count, width] row-major), or why there are none. */
export type EmbeddingLookup = (name: string) => { vectors: Float32Array; count: number } | { error: string };

export interface TokenizeOptions {
  /** Token after EOS: EOS for OpenAI CLIP-L, 0 for OpenCLIP towers. */
  padId: number;
  /** Ids at or above this select rows of the extra-embedding table (the encoder's vocabulary size). */
  vocabSize: number;
  maxLength?: number;
  /** Words of this many tokens or more may be split across chunks; shorter ones move whole. */
  maxWordLength?: number;
  /** Absent: `embedding:` words are plain text (ComfyUI without an embeddings folder). */
  embeddings?: EmbeddingLookup;
  warn?: (message: string) => void;
}

export interface TokenizedPrompt {
  chunks: TokenChunk[];
  /** Textual-inversion rows referenced by ids ≥ vocabSize, [rows, width] row-major; null when none. */
  extra: Float32Array | null;
  /** Embedding names that were found, in order of use. */
  embeddingsUsed: string[];
}

type Tok = { id: number; weight: number } | { vector: Float32Array; weight: number };

/** ComfyUI SDTokenizer.tokenize_with_weights, with BOS/EOS from the tokenizer. */
export function tokenizeWithWeights(text: string, tok: CLIPTokenizer, o: TokenizeOptions): TokenizedPrompt {
  const maxLength = o.maxLength ?? 77;
  const maxWord = o.maxWordLength ?? 8;
  const groups: Tok[][] = [];
  const used: string[] = [];
  for (const seg of parsePrompt(text)) {
    for (let word of seg.text.replaceAll('\n', ' ').split(' ').filter((w) => w !== '')) {
      if (o.embeddings && word.startsWith(EMBEDDING_PREFIX)) {
        const name = word.slice(EMBEDDING_PREFIX.length);
        let found = name;
        let r = o.embeddings(name);
        let leftover = '';
        if ('error' in r) {
          const stripped = name.replace(/^,+|,+$/g, '');
          if (stripped.length < name.length) {
            r = o.embeddings(stripped);
            // ComfyUI slices by length, so a leading comma would shift this; kept for identical tokens.
            leftover = name.slice(stripped.length);
            found = stripped;
          }
        }
        if ('error' in r) o.warn?.(`embedding:${name} ignored: ${r.error}`);
        else {
          const C = r.vectors.length / r.count;
          groups.push(Array.from({ length: r.count }, (_, i) => ({ vector: r.vectors.subarray(i * C, (i + 1) * C), weight: seg.weight })));
          used.push(found);
        }
        if (leftover === '') continue;
        word = leftover;
      }
      groups.push(tok.encode(word).map((id) => ({ id, weight: seg.weight })));
    }
  }
  const rows = chunkGroups(groups, tok.bos, tok.eos, o.padId, maxLength, maxWord);
  const vectors: Float32Array[] = [];
  const chunks = rows.map((row) => ({
    ids: row.map((t) => ('id' in t ? t.id : o.vocabSize + vectors.push(t.vector) - 1)),
    weights: row.map((t) => t.weight),
  }));
  let extra: Float32Array | null = null;
  if (vectors.length > 0) {
    extra = new Float32Array(vectors.reduce((a, v) => a + v.length, 0));
    let off = 0;
    for (const v of vectors) { extra.set(v, off); off += v.length; }
  }
  return { chunks, extra, embeddingsUsed: used };
}

/** Packs word groups into [BOS, ≤ maxLength−2 tokens, EOS, pad…] rows (ComfyUI's batching rule). */
function chunkGroups(groups: Tok[][], bos: number, eos: number, pad: number, maxLength: number, maxWord: number): Tok[][] {
  const special = (id: number): Tok => ({ id, weight: 1 });
  const out: Tok[][] = [];
  let batch: Tok[] = [special(bos)];
  out.push(batch);
  for (const group of groups) {
    const large = group.length >= maxWord;
    let rest = group;
    while (rest.length > 0) {
      if (rest.length + batch.length > maxLength - 1) {
        const room = maxLength - batch.length - 1;
        if (large) {
          batch.push(...rest.slice(0, room), special(eos));
          rest = rest.slice(room);
        } else {
          batch.push(special(eos));
          for (let i = 0; i < room; i++) batch.push(special(pad));
        }
        batch = [special(bos)];
        out.push(batch);
      } else {
        batch.push(...rest);
        rest = [];
      }
    }
  }
  batch.push(special(eos));
  while (batch.length < maxLength) batch.push(special(pad));
  return out;
}

/**
 * A1111 "Original" emphasis on one encoder's output: `cond` [chunks·T, C] is the UNWEIGHTED encoding;
 * each chunk is multiplied per token by its weight, then scaled by mean(before)/mean(after) over the chunk.
 */
export function applyA1111Weights(cond: Float32Array, chunks: readonly TokenChunk[], width: number): Float32Array {
  const out = cond.slice();
  const T = chunks[0]?.ids.length ?? 0;
  chunks.forEach((c, i) => {
    const base = i * T * width;
    let before = 0, after = 0;
    for (let j = 0; j < T; j++) {
      const w = c.weights[j]!;
      for (let d = 0; d < width; d++) {
        const k = base + j * width + d;
        before += out[k]!;
        out[k] = Math.fround(out[k]! * w);
        after += out[k]!;
      }
    }
    if (after === 0) return;
    const s = Math.fround(before / after);
    for (let k = base; k < base + T * width; k++) out[k] = Math.fround(out[k]! * s);
  });
  return out;
}
