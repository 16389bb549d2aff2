/**
 * Deterministic bench inputs: uniform values in [-1, 1) from a 32-bit LCG. Speed is what the benches
 * measure, so any well-spread data will do; the same seed gives the same tensor in every run.
 */
export function uniformInput(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}
