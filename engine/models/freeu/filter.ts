/**
 * FreeU's Fourier filter on a skip connection, as ONNX ops that work for any (symbolic) H and W.
 *
 * ComfyUI (comfy_extras/nodes_freelunch.py, threshold 1) takes fftn over (H, W), fftshifts, multiplies a
 * 2×2 window at the centre by `scale`, and returns the real part of the inverse. After the shift that window
 * holds exactly four frequencies, (ky, kx) ∈ {0, −1}², so the result is
 *
 *   y = x + (scale − 1) · low(x),  low(x) = Re(IFFT(X restricted to those four frequencies))
 *
 * and low(x)[y, x] = 1/(H·W) · Σ x[y', x'] · (1 + cos a + cos b + cos(a + b)), a = 2π(y'−y)/H, b = 2π(x'−x)/W.
 * Expanding the cosines separates the kernel over the bases {1, cos(2πy/H), sin(2πy/H)} (and the same in x),
 * so low(x) = Fyᵀ · K(Fy · x · Fxᵀ) · Fx / (H·W) with 3×H and 3×W basis matrices and a fixed 9×9 mixing K.
 * That is a few tiny MatMuls instead of a DFT pair (ORT's DFT would need complex re-packing on both axes and
 * buys nothing for four frequencies), and scale = 1 leaves x bit-for-bit (x + 0·low).
 *
 * Edge sizes follow ComfyUI's slicing: for H = 1 the window's two rows collapse onto frequency 0, which must
 * then count once, so the cos row of the basis is zeroed (the sin row is already 0 there). H = 2 needs nothing:
 * −1 ≡ 1 is a distinct frequency.
 */
import { DataType, type GraphBuilder } from '../../onnx/index.ts';
import { keepFloat32 } from '../../onnx/precision.ts';

/**
 * The 9×9 map from projections P[i·3+j] (i: y basis, j: x basis; 0 = 1, 1 = cos, 2 = sin) to the coefficients
 * Q of low(x) = Σ Q[k,l]·u_k(y)·u_l(x). Only the cos·cos / sin·sin / cross terms mix (from cos(a + b)).
 */
export function fourierMixing(): Float32Array {
  const K = new Float32Array(81);
  const set = (from: [number, number], to: [number, number], v: number): void => void (K[(from[0] * 3 + from[1]) * 9 + to[0] * 3 + to[1]] = v);
  for (const p of [[0, 0], [1, 0], [2, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 1], [2, 2]] as [number, number][]) set(p, p, 1);
  set([2, 2], [1, 1], -1); // cos·cos coefficient: P_cc − P_ss
  set([1, 1], [2, 2], -1); // sin·sin coefficient: P_ss − P_cc
  set([2, 1], [1, 2], 1); // cos·sin coefficient: P_cs + P_sc
  set([1, 2], [2, 1], 1); // sin·cos coefficient: P_sc + P_cs
  return K;
}

/** [3, N] basis rows (1, cos 2πn/N, sin 2πn/N) for the axis `axis` of x; the cos row is 0 when N = 1. */
function basis(g: GraphBuilder, x: string, axis: number): { rows: string; n: string } {
  const n64 = g.op('Shape', [x], { start: axis, end: axis + 1 });
  const n = g.op('Cast', [n64], { to: DataType.float32 });
  const idx = g.op('Range', [g.scalar(0), g.op('Squeeze', [n, g.constInt64([0])]), g.scalar(1)]);
  const angle = g.op('Mul', [idx, g.op('Div', [g.scalar(2 * Math.PI), n])]);
  const gate = g.op('Cast', [g.op('Greater', [n, g.scalar(1)])], { to: DataType.float32 });
  const row = (v: string): string => g.op('Unsqueeze', [v, g.constInt64([0])]);
  const ones = g.op('Add', [g.op('Mul', [idx, g.scalar(0)]), g.scalar(1)]);
  const rows = g.op('Concat', [row(ones), row(g.op('Mul', [g.op('Cos', [angle]), gate])), row(g.op('Sin', [angle]))], { axis: 0 });
  return { rows, n };
}

/** x + (scale − 1)·low(x) for x [B, C, H, W]; see the file comment. Computed in float32 in fp16 graphs, like ComfyUI. */
export function fourierFilter(g: GraphBuilder, x: string, scale: number): string {
  const body = (xf: string): string => {
    const { rows: fy, n: h } = basis(g, xf, 2);
    const { rows: fx, n: w } = basis(g, xf, 3);
    const fxT = g.op('Transpose', [fx], { perm: [1, 0] });
    const p = g.op('MatMul', [g.op('MatMul', [fy, xf]), fxT]); // [B, C, 3, 3]
    const flat = g.op('Reshape', [p, g.constInt64([0, 0, 9])]);
    const q = g.op('Reshape', [g.op('MatMul', [flat, g.constant(fourierMixing(), [9, 9])]), g.constInt64([0, 0, 3, 3])]);
    const low = g.op('MatMul', [g.op('MatMul', [g.op('Transpose', [fy], { perm: [1, 0] }), q]), fx]); // [B, C, H, W]
    const k = g.op('Div', [g.scalar(scale - 1), g.op('Mul', [h, w])]);
    return g.op('Add', [xf, g.op('Mul', [low, k])]);
  };
  if (!g.fp16) return body(x);
  return keepFloat32(g, () => g.op('Cast', [body(g.op('Cast', [x], { to: DataType.float32 }))], { to: DataType.float16 }));
}
