/**
 * FLUX position ids and rotary tables, computed here rather than in the graph so they match the
 * reference bit for bit: ids are small integers (exact in float32), the angles pos·ω and their cos/sin are
 * taken in float64 (ω from a float64 linspace, as ComfyUI's rope() does) and rounded to float32 once.
 */
import { linspace64 } from '../../sampling/model-sampling.ts';
import { FLUX_THETA } from './config.ts';

/** Patch grid of an H×W latent (2×2 patches, odd sizes padded up). */
export function patchGrid(H: number, W: number): { hLen: number; wLen: number } {
  return { hLen: Math.floor((H + 1) / 2), wLen: Math.floor((W + 1) / 2) };
}

/** Ids [txtLen + hLen·wLen, 3]: text rows all zero, then image patch (0, row, col) in raster order. */
export function positionIds(txtLen: number, hLen: number, wLen: number): Float32Array {
  const ids = new Float32Array((txtLen + hLen * wLen) * 3);
  for (let i = 0; i < hLen; i++)
    for (let j = 0; j < wLen; j++) {
      const o = (txtLen + i * wLen + j) * 3;
      ids[o + 1] = i;
      ids[o + 2] = j;
    }
  return ids;
}

export interface RopeTables {
  /** Tokens. */
  length: number;
  /** headDim / 2: one rotation per consecutive pair (x[2j], x[2j+1]). */
  pairs: number;
  /** [length, pairs] float32. */
  cos: Float32Array;
  sin: Float32Array;
}

/** Per-token rotation angles: the axes' pair frequencies concatenated along the head dim. */
export function ropeTables(ids: Float32Array, axesDim: readonly number[], theta = FLUX_THETA): RopeTables {
  const nAxes = axesDim.length;
  const length = ids.length / nAxes;
  const omegas: number[] = [];
  const axisOf: number[] = [];
  axesDim.forEach((d, a) => {
    const scale = linspace64(0, (d - 2) / d, d / 2);
    for (const s of scale) {
      omegas.push(1 / theta ** s);
      axisOf.push(a);
    }
  });
  const pairs = omegas.length;
  const cos = new Float32Array(length * pairs);
  const sin = new Float32Array(length * pairs);
  for (let l = 0; l < length; l++)
    for (let j = 0; j < pairs; j++) {
      const angle = ids[l * nAxes + axisOf[j]!]! * omegas[j]!;
      cos[l * pairs + j] = Math.cos(angle);
      sin[l * pairs + j] = Math.sin(angle);
    }
  return { length, pairs, cos, sin };
}
