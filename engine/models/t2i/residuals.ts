/**
 * Control residuals as the control stage sums them when T2I-Adapters take part. A list is indexed like the
 * UNet's 'input' control variant: [control_0 … control_{N-1}, control_middle, control_input_0 …]; a
 * ControlNet fills the first N+1 (its list simply ends there), a T2I-Adapter only the input blocks its
 * features join (and the middle for SDXL). Holes are `undefined` until the call is handed to the UNet,
 * where they become a broadcast [1,1,1,1] zero. ComfyUI's control_merge sums them the same way, by slot.
 */
import type { Tensor } from '../../tensor/tensor.ts';

export type Residuals = (Tensor | undefined)[];

/** residual·strength (+ prev, slot by slot): mergeControl's arithmetic, holes allowed on either side. */
export function mergeResiduals(res: Residuals, strength: number, prev?: Residuals): Residuals {
  const n = Math.max(res.length, prev?.length ?? 0);
  return Array.from({ length: n }, (_, i) => {
    const r = res[i];
    const p = prev?.[i];
    if (!r) return p;
    const data = new Float32Array(r.data.length);
    for (let j = 0; j < data.length; j++) data[j] = r.data[j]! * strength + (p ? p.data[j]! : 0);
    return { shape: [...r.shape], data };
  });
}

/** Adds the residuals of `rows` (a row subset of an N-row call) into the full-batch list, allocating slots as they appear. */
export function scatterRows(control: Residuals | undefined, res: Residuals, rows: readonly number[], N: number): Residuals {
  const out: Residuals = control ? [...control] : [];
  res.forEach((t, k) => {
    if (!t) return;
    const per = t.data.length / rows.length;
    const dst = (out[k] ??= { shape: [N, ...t.shape.slice(1)], data: new Float32Array(per * N) }).data;
    rows.forEach((r, i) => {
      for (let j = 0; j < per; j++) dst[r * per + j] = dst[r * per + j]! + t.data[i * per + j]!;
    });
  });
  return out;
}

const ZERO: Tensor = { shape: [1, 1, 1, 1], data: new Float32Array(1) };

/** The list as UNet inputs: holes are zeros the graph's Add broadcasts; `length` slots in all. */
export function fillHoles(control: Residuals, length: number): Tensor[] {
  return Array.from({ length }, (_, i) => control[i] ?? ZERO);
}
