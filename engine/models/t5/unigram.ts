/**
 * SentencePiece unigram segmentation (HF tokenizers `Unigram`, the model T5 uses): Viterbi over every
 * vocabulary piece that starts at each position, maximising the sum of piece log-probabilities. A
 * position no single-character piece covers is bridged by `<unk>` with score min(score) − 10, and runs of
 * unknown characters fuse into one `<unk>` token. Ties keep the path found first (earlier start, shorter
 * piece), matching the strict comparison in HF's lattice.
 */
import { WeftError } from '../../errors.ts';

const UNK_PENALTY = 10;

export interface UnigramPiece {
  piece: string;
  score: number;
}

export class Unigram {
  readonly pieces: readonly UnigramPiece[];
  readonly unkId: number;
  private readonly ids = new Map<string, number>();
  private readonly maxChars: number;
  private readonly unkScore: number;

  constructor(pieces: readonly UnigramPiece[], unkId: number) {
    if (unkId < 0 || unkId >= pieces.length) throw new WeftError(`unigram vocabulary: unk id ${unkId} is outside the ${pieces.length} pieces`);
    this.pieces = pieces;
    this.unkId = unkId;
    let min = Infinity;
    let maxChars = 1;
    pieces.forEach(({ piece, score }, id) => {
      // The first occurrence wins, as in a trie built in id order.
      if (!this.ids.has(piece)) this.ids.set(piece, id);
      if (score < min) min = score;
      maxChars = Math.max(maxChars, [...piece].length);
    });
    this.maxChars = maxChars;
    this.unkScore = min - UNK_PENALTY;
  }

  idOf(piece: string): number | undefined {
    return this.ids.get(piece);
  }

  /** Best segmentation of one pre-token into pieces (strings); unknown runs come back as their text. */
  segment(text: string): Array<{ piece: string; id: number }> {
    const chars = [...text];
    const n = chars.length;
    if (n === 0) return [];
    const score = new Float64Array(n + 1).fill(-Infinity);
    const from = new Int32Array(n + 1).fill(-1);
    const via = new Int32Array(n + 1).fill(-1);
    score[0] = 0;
    for (let s = 0; s < n; s++) {
      if (from[s] === -1 && s !== 0) continue;
      const base = score[s]!;
      let single = false;
      let piece = '';
      for (let e = s + 1; e <= Math.min(n, s + this.maxChars); e++) {
        piece += chars[e - 1]!;
        const id = this.ids.get(piece);
        if (id === undefined) continue;
        const cand = base + this.pieces[id]!.score;
        if (from[e] === -1 || cand > score[e]!) {
          score[e] = cand;
          from[e] = s;
          via[e] = id;
        }
        if (e === s + 1) single = true;
      }
      if (!single) {
        const cand = base + this.unkScore;
        if (from[s + 1] === -1 || cand > score[s + 1]!) {
          score[s + 1] = cand;
          from[s + 1] = s;
          via[s + 1] = this.unkId;
        }
      }
    }
    const out: Array<{ piece: string; id: number }> = [];
    let unk = '';
    for (let e = n; e > 0; e = from[e]!) {
      const s = from[e]!;
      const piece = chars.slice(s, e).join('');
      if (via[e] === this.unkId) {
        unk = piece + unk;
        continue;
      }
      if (unk) {
        out.push({ piece: unk, id: this.unkId });
        unk = '';
      }
      out.push({ piece, id: via[e]! });
    }
    if (unk) out.push({ piece: unk, id: this.unkId });
    return out.reverse();
  }
}
