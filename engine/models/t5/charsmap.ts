/**
 * SentencePiece's compiled normaliser ("precompiled_charsmap", nmt_nfkc for T5), applied the way HF
 * tokenizers' `Precompiled` normaliser does, since ComfyUI tokenises T5 prompts with T5TokenizerFast:
 *
 * - the blob is [u32 LE trie byte size][darts-clone double-array trie of u32 units][NUL-separated
 *   replacement strings]; a trie value is a byte offset into the replacement strings;
 * - the text is walked by extended grapheme clusters: a cluster shorter than 6 UTF-8 bytes is looked up
 *   whole first, else (or on a miss) each code point is looked up alone;
 * - a lookup takes the SHORTEST key that prefixes the chunk (the first common-prefix result), and the whole
 *   chunk is replaced by that key's replacement. That is HF's behaviour, kept as is for identical ids.
 */
import { WeftError } from '../../errors.ts';

const UTF8 = new TextEncoder();
const UTF8D = new TextDecoder();

export class PrecompiledCharsmap {
  private readonly units: Uint32Array;
  private readonly strings: Uint8Array;
  private readonly cache = new Map<string, string | null>();
  private readonly segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

  constructor(blob: Uint8Array, source = 'precompiled_charsmap') {
    if (blob.byteLength < 4) throw new WeftError(`${source}: precompiled charsmap is too short (${blob.byteLength} bytes)`);
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieBytes = dv.getUint32(0, true);
    if (trieBytes % 4 !== 0 || 4 + trieBytes > blob.byteLength) throw new WeftError(`${source}: precompiled charsmap trie size ${trieBytes} does not fit the ${blob.byteLength}-byte blob`);
    this.units = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = dv.getUint32(4 + 4 * i, true);
    this.strings = blob.subarray(4 + trieBytes);
  }

  static fromBase64(b64: string, source?: string): PrecompiledCharsmap {
    return new PrecompiledCharsmap(new Uint8Array(Buffer.from(b64, 'base64')), source);
  }

  /** darts-clone commonPrefixSearch, stopping at the first hit (the only one HF uses). */
  private firstPrefixValue(key: Uint8Array): number | null {
    const u = this.units;
    const offset = (unit: number) => (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
    let pos = offset(u[0] ?? 0);
    for (const c of key) {
      if (c === 0) break;
      pos ^= c;
      const unit = u[pos];
      if (unit === undefined || (unit & ((1 << 31) | 0xff)) >>> 0 !== c) return null;
      pos ^= offset(unit);
      if ((unit >>> 8) & 1) return (u[pos] ?? 0) & 0x7fffffff;
    }
    return null;
  }

  /** Replacement for `chunk`, or null when the charsmap leaves it unchanged. */
  transform(chunk: string): string | null {
    const hit = this.cache.get(chunk);
    if (hit !== undefined) return hit;
    const v = this.firstPrefixValue(UTF8.encode(chunk));
    let out: string | null = null;
    if (v !== null) {
      let end = v;
      while (end < this.strings.length && this.strings[end] !== 0) end++;
      out = UTF8D.decode(this.strings.subarray(v, end));
    }
    if (this.cache.size < 65536) this.cache.set(chunk, out);
    return out;
  }

  normalize(text: string): string {
    let out = '';
    for (const { segment } of this.segmenter.segment(text)) {
      if (Buffer.byteLength(segment, 'utf8') < 6) {
        const whole = this.transform(segment);
        if (whole !== null) {
          out += whole;
          continue;
        }
      }
      for (const ch of segment) out += this.transform(ch) ?? ch;
    }
    return out;
  }
}
