/**
 * Separable resampling of 2-D planes inside 4-D tensors, reproducing torch.nn.functional.interpolate
 * (CPU, align_corners=False, antialias=False) and PIL's LANCZOS resize — the kernels ComfyUI's
 * common_upscale ends up in. Every kernel is a list of taps (source index, weight) per output
 * coordinate, so one strided loop serves NCHW latents and NHWC images alike.
 */

/** A 2-D plane inside a flat buffer: element (y, x) is data[offset + y*sy + x*sx]. */
export interface Plane {
  data: Float32Array;
  offset: number;
  sy: number;
  sx: number;
  h: number;
  w: number;
}

/** Per output coordinate o, taps idx[start[o]..start[o+1]) with weights wt. */
export interface Taps {
  start: Int32Array;
  idx: Int32Array;
  wt: Float64Array;
}

const f32 = Math.fround;

function buildTaps(out: number, perOut: (o: number, push: (i: number, w: number) => void) => void): Taps {
  const start = new Int32Array(out + 1);
  const idx: number[] = [];
  const wt: number[] = [];
  const push = (i: number, w: number) => {
    idx.push(i);
    wt.push(w);
  };
  for (let o = 0; o < out; o++) {
    start[o] = idx.length;
    perOut(o, push);
  }
  start[out] = idx.length;
  return { start, idx: Int32Array.from(idx), wt: Float64Array.from(wt) };
}

/** torch computes the ratio in float32 when no scale_factor is given. */
function torchScale(inSize: number, outSize: number): number {
  return f32(inSize / outSize);
}

/** torch's area_pixel_compute_source_index for align_corners=False, in float32 like torch's CPU kernels. */
function sourceIndex(scale: number, o: number, cubic: boolean): number {
  const src = f32(f32(scale * f32(o + 0.5)) - 0.5);
  return !cubic && src < 0 ? 0 : src;
}

/** mode='nearest-exact': floor((o + 0.5) * scale), clamped to the last pixel. */
export function nearestExactTaps(inSize: number, outSize: number): Taps {
  const scale = torchScale(inSize, outSize);
  return buildTaps(outSize, (o, push) => push(Math.min(Math.floor(f32((o + 0.5) * scale)), inSize - 1), 1));
}

/** mode='bilinear' along one axis. */
export function linearTaps(inSize: number, outSize: number): Taps {
  const scale = torchScale(inSize, outSize);
  return buildTaps(outSize, (o, push) => {
    const src = sourceIndex(scale, o, false);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = i0 + (i0 < inSize - 1 ? 1 : 0);
    const l1 = f32(Math.min(Math.max(src - i0, 0), 1));
    push(i0, f32(1 - l1));
    push(i1, l1);
  });
}

const CUBIC_A = -0.75;
function cubic1(x: number): number {
  return ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1;
}
function cubic2(x: number): number {
  return ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A;
}

/** mode='bicubic' (Keys, A = −0.75) with border-clamped indices, as torch does. */
export function cubicTaps(inSize: number, outSize: number): Taps {
  const scale = torchScale(inSize, outSize);
  return buildTaps(outSize, (o, push) => {
    const src = sourceIndex(scale, o, true);
    const i = Math.min(Math.floor(src), inSize - 1);
    const t = f32(Math.min(Math.max(src - i, 0), 1));
    const w = [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)];
    for (let j = 0; j < 4; j++) push(Math.min(Math.max(i - 1 + j, 0), inSize - 1), f32(w[j]));
  });
}

/** mode='area' = adaptive average pooling: window [floor(o*in/out), ceil((o+1)*in/out)). */
export function areaTaps(inSize: number, outSize: number): Taps {
  return buildTaps(outSize, (o, push) => {
    const s = Math.floor((o * inSize) / outSize);
    const e = Math.ceil(((o + 1) * inSize) / outSize);
    for (let i = s; i < e; i++) push(i, 1 / (e - s));
  });
}

/** Applies x-taps then y-taps to a plane; `tmp` must hold src.h * dst.w values. */
export function resamplePlane(src: Plane, dst: Plane, tx: Taps, ty: Taps, tmp: Float64Array): void {
  const { data: s, offset: so, sy: ssy, sx: ssx } = src;
  const W = dst.w;
  for (let y = 0; y < src.h; y++) {
    const row = so + y * ssy;
    const trow = y * W;
    for (let x = 0; x < W; x++) {
      let acc = 0;
      for (let k = tx.start[x]; k < tx.start[x + 1]; k++) acc += s[row + tx.idx[k] * ssx] * tx.wt[k];
      tmp[trow + x] = acc;
    }
  }
  const { data: d, offset: dof, sy: dsy, sx: dsx } = dst;
  for (let y = 0; y < dst.h; y++) {
    const k0 = ty.start[y];
    const k1 = ty.start[y + 1];
    const drow = dof + y * dsy;
    for (let x = 0; x < W; x++) {
      let acc = 0;
      for (let k = k0; k < k1; k++) acc += tmp[ty.idx[k] * W + x] * ty.wt[k];
      d[drow + x * dsx] = acc;
    }
  }
}

// ---- PIL's LANCZOS (Image.resize on 8-bit data), which ComfyUI uses for 'lanczos' ----

const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

function lanczos3(x: number): number {
  return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

/** PIL's coefficient table: support widened by the downscale factor, normalised, fixed-point. */
export function lanczosTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 3 * filterScale;
  return buildTaps(outSize, (o, push) => {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5));
    const ws: number[] = [];
    let sum = 0;
    for (let x = xmin; x < xmax; x++) {
      const w = lanczos3((x - center + 0.5) / filterScale);
      ws.push(w);
      sum += w;
    }
    for (let j = 0; j < ws.length; j++) {
      const k = sum !== 0 ? ws[j] / sum : ws[j];
      push(xmin + j, k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE));
    }
  });
}

function clip8(acc: number): number {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function pass8(src: Uint8Array, h: number, w: number, outLen: number, taps: Taps, horizontal: boolean): Uint8Array {
  const oh = horizontal ? h : outLen;
  const ow = horizontal ? outLen : w;
  const out = new Uint8Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const o = horizontal ? x : y;
      let acc = ONE / 2;
      for (let k = taps.start[o]; k < taps.start[o + 1]; k++) {
        const i = taps.idx[k];
        acc += src[horizontal ? y * w + i : i * w + x] * taps.wt[k];
      }
      out[y * ow + x] = clip8(acc);
    }
  }
  return out;
}

/** Resizes one 8-bit plane like PIL: horizontal pass (clipped to 8 bits) then vertical pass. */
export function lanczosPlane8(src: Uint8Array, h: number, w: number, oh: number, ow: number): Uint8Array {
  let cur = src;
  if (ow !== w) cur = pass8(cur, h, w, ow, lanczosTaps(w, ow), true);
  if (oh !== h) cur = pass8(cur, h, ow, oh, lanczosTaps(h, oh), false);
  return cur === src ? src.slice() : cur;
}
