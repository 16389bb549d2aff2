/** Test tensors: deterministic uniform values (32-bit LCG) and the max absolute difference of two buffers. */
import assert from 'node:assert/strict';
import type { Tensor } from '../../engine/tensor/tensor.ts';

export function rand(shape: number[], seed: number, scale = 1, offset = 0): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = offset + ((s / 4294967296) * 2 - 1) * scale;
  }
  return { shape, data };
}

/** max |a − b|; buffers of different lengths fail the test rather than compare a prefix. */
export function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'compared buffers differ in length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
