/** A case's named inputs, looked up in its vectors file; a missing one fails the case with its name. */
import type { Tensor } from '../tensor/tensor.ts';
import type { CaseTensor, ConformanceCase } from './types.ts';

export function caseInput(m: Map<string, CaseTensor>, c: ConformanceCase, name: string): CaseTensor {
  const ref = c.inputs[name];
  const t = ref && m.get(ref.tensor);
  if (!t) throw new Error(`case ${c.name}: input "${name}" missing from the vectors file`);
  return t;
}

/** A float32 input as a Tensor. */
export function caseTensor(m: Map<string, CaseTensor>, c: ConformanceCase, name: string): Tensor {
  const ref = c.inputs[name];
  const t = ref && m.get(ref.tensor);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`case ${c.name}: float input "${name}" missing from the vectors file`);
  return { shape: t.shape, data: t.data };
}
