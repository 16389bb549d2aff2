/**
 * Reads a SentencePiece `spiece.model` (a protobuf ModelProto) without a protobuf library: only the fields
 * the T5 tokenizer needs. ModelProto: 1 = repeated SentencePiece {1 piece, 2 score (float), 3 type},
 * 2 = TrainerSpec {40 unk_id, 41 bos_id, 42 eos_id, 43 pad_id}, 3 = NormalizerSpec {1 name,
 * 2 precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces}.
 */
import { WeftError } from '../../errors.ts';

/** SentencePiece.Type values. */
export const PIECE_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export interface SpmModel {
  pieces: Array<{ piece: string; score: number; type: number }>;
  unkId: number;
  eosId: number;
  padId: number;
  normalizerName: string;
  charsmap: Uint8Array | null;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly source: string, readonly end = buf.length) {}
  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw new WeftError(`${this.source}: truncated protobuf (not a SentencePiece model?)`, { file: this.source });
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  }
  /** Next field as [number, wire type], or null at the end. */
  tag(): [number, number] | null {
    if (this.pos >= this.end) return null;
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new WeftError(`${this.source}: truncated protobuf field`, { file: this.source });
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  float(): number {
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new WeftError(`${this.source}: unsupported protobuf wire type ${wire}`, { file: this.source });
  }
  sub(): Reader {
    const b = this.bytes();
    return new Reader(b, this.source);
  }
}

/** int32 fields are varints of the two's-complement 64-bit value: -1 arrives as 2^64 − 1. */
const int32 = (v: number) => (v >= 2 ** 63 ? v - 2 ** 64 : v);

export function parseSpm(buf: Uint8Array, source = 'spiece.model'): SpmModel {
  const dec = new TextDecoder('utf-8', { fatal: false });
  const m: SpmModel = { pieces: [], unkId: 0, eosId: 2, padId: -1, normalizerName: '', charsmap: null, addDummyPrefix: true, removeExtraWhitespaces: true };
  const r = new Reader(buf, source);
  for (let t = r.tag(); t; t = r.tag()) {
    const [field, wire] = t;
    if (field === 1 && wire === 2) {
      const p = r.sub();
      const piece = { piece: '', score: 0, type: PIECE_TYPE.normal as number };
      for (let u = p.tag(); u; u = p.tag()) {
        if (u[0] === 1 && u[1] === 2) piece.piece = dec.decode(p.bytes());
        else if (u[0] === 2 && u[1] === 5) piece.score = p.float();
        else if (u[0] === 3 && u[1] === 0) piece.type = p.varint();
        else p.skip(u[1]);
      }
      m.pieces.push(piece);
    } else if (field === 2 && wire === 2) {
      const s = r.sub();
      for (let u = s.tag(); u; u = s.tag()) {
        if (u[1] === 0 && u[0] >= 40 && u[0] <= 43) {
          const v = int32(s.varint());
          if (u[0] === 40) m.unkId = v;
          else if (u[0] === 42) m.eosId = v;
          else if (u[0] === 43) m.padId = v;
        } else s.skip(u[1]);
      }
    } else if (field === 3 && wire === 2) {
      const s = r.sub();
      for (let u = s.tag(); u; u = s.tag()) {
        if (u[0] === 1 && u[1] === 2) m.normalizerName = dec.decode(s.bytes());
        else if (u[0] === 2 && u[1] === 2) m.charsmap = s.bytes().slice();
        else if (u[0] === 3 && u[1] === 0) m.addDummyPrefix = s.varint() !== 0;
        else if (u[0] === 4 && u[1] === 0) m.removeExtraWhitespaces = s.varint() !== 0;
        else s.skip(u[1]);
      }
    } else r.skip(wire);
  }
  if (m.pieces.length === 0) throw new WeftError(`${source}: no vocabulary pieces found (not a SentencePiece model?)`, { file: source, type: 'model_load_error' });
  return m;
}
