/**
 * StyleModelApply (nodes.py): the style tokens of every image in the batch are flattened into one row
 * [1, B·N, C] and appended to each conditioning entry's text tokens. strength_type "multiply" scales the
 * tokens; "attn_bias" leaves them and instead adds log(strength) as an attention bias from every query to the
 * new tokens, kept in the entry's `attention_mask` ([B, T, T] additive, with `attention_mask_img_shape` for
 * reference-image tokens behind the text) exactly as ComfyUI lays it out. Only models that read
 * attention_mask (FLUX with Redux) act on that bias; SD UNets ignore it, as in ComfyUI.
 */
import { WeftError } from '../../errors.ts';
import type { Conditioning, ConditioningEntry } from '../../graph/sockets.ts';
import { isTensor, type Tensor } from '../../tensor/tensor.ts';

export type StrengthType = 'multiply' | 'attn_bias';

/** [B, N, C] → [1, B·N, C], times `scale`. */
function flattenTokens(style: Tensor, scale: number): Tensor {
  const [b, n, c] = style.shape as [number, number, number];
  const data = scale === 1 ? style.data.slice() : style.data.map((v) => v * scale);
  return { shape: [1, b * n, c], data };
}

/** txt [B, T, C] followed by cond [1, n, C] on the token axis (the style row is shared by every batch row). */
function appendTokens(txt: Tensor, cond: Tensor): Tensor {
  const [b, t, c] = txt.shape as [number, number, number];
  const n = cond.shape[1]!;
  if (cond.shape[2] !== c) {
    throw new WeftError(`style_model: its tokens are ${cond.shape[2]} wide but the conditioning's are ${c}; the style model does not belong to this text encoder`, { input: 'style_model' });
  }
  const out = new Float32Array(b * (t + n) * c);
  for (let k = 0; k < b; k++) {
    out.set(txt.data.subarray(k * t * c, (k + 1) * t * c), k * (t + n) * c);
    out.set(cond.data, (k * (t + n) + t) * c);
  }
  return { shape: [b, t + n, c], data: out };
}

/** ComfyUI keeps the mask in float16; values are rounded the same way so a bias reads back identically. */
function toHalfPrecision(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const e = Math.max(Math.floor(Math.log2(Math.abs(v))), -14);
  const q = 2 ** (e - 10);
  const r = v / q;
  const f = Math.floor(r);
  const d = r - f;
  return (d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f) * q;
}

/**
 * The enlarged additive mask: old quadrants copied around a gap of n new columns/rows; the text and image
 * queries get `bias` towards the new tokens; the new tokens' own rows stay 0.
 */
function growMask(old: Tensor | undefined, b: number, nTxt: number, nRef: number, n: number, bias: number): Tensor {
  const N0 = nTxt + nRef;
  const N = N0 + n;
  let src = old;
  if (src && (src.shape.length !== 3 || src.shape[1] !== N0 || src.shape[2] !== N0)) {
    throw new WeftError(`conditioning: attention_mask [${src.shape.join(', ')}] does not match ${nTxt} text + ${nRef} image tokens`, { input: 'conditioning' });
  }
  src ??= { shape: [b, N0, N0], data: new Float32Array(b * N0 * N0) };
  const mb = src.shape[0]!;
  const out = new Float32Array(mb * N * N);
  const at = (i: number): number => (i < nTxt ? i : i + n); // old index → new index
  const hb = toHalfPrecision(bias);
  for (let k = 0; k < mb; k++) {
    for (let i = 0; i < N0; i++) {
      for (let j = 0; j < N0; j++) out[(k * N + at(i)) * N + at(j)] = toHalfPrecision(src.data[(k * N0 + i) * N0 + j]!);
      for (let j = nTxt; j < nTxt + n; j++) out[(k * N + at(i)) * N + j] = hb;
    }
  }
  return { shape: [mb, N, N], data: out };
}

/** StyleModelApply on already computed style tokens [B, N, C] (StyleModel.getCond). */
export function applyStyle(conditioning: Conditioning, style: Tensor, strength: number, type: StrengthType): Conditioning {
  if (style.shape.length !== 3) throw new WeftError(`style_model: expected style tokens [B, N, C], got [${style.shape.join(', ')}]`);
  const cond = flattenTokens(style, type === 'multiply' ? strength : 1);
  const n = cond.shape[1]!;
  return conditioning.map(([txt, opts]): ConditioningEntry => {
    const keys = { ...opts };
    // An existing mask must grow even at strength 1; a new one is only needed for a real bias.
    if (keys.attention_mask !== undefined || (type === 'attn_bias' && strength !== 1)) {
      const refShape = Array.isArray(keys.attention_mask_img_shape) ? (keys.attention_mask_img_shape as number[]) : [1, 1];
      const nRef = refShape[0]! * refShape[1]!;
      const old = isTensor(keys.attention_mask) ? keys.attention_mask : undefined;
      // log(0) = −inf blocks the style tokens entirely, as torch.log does.
      keys.attention_mask = growMask(old, txt.shape[0]!, txt.shape[1]!, nRef, n, Math.log(type === 'attn_bias' ? strength : 1));
      keys.attention_mask_img_shape = refShape;
    }
    return [appendTokens(txt, cond), keys];
  });
}
