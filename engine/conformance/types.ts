/**
 * Contract between the conformance runner (engine/conformance/main.ts) and the per-topic handlers in
 * engine/conformance/handlers/*.ts. Each handler file exports `handler: CaseHandler`; the runner loads
 * every file in that folder, so topics are added without touching a shared list.
 */
export interface TensorRef {
  tensor: string;
  shape: number[];
  dtype: string;
}

export interface ConformanceCase {
  name: string;
  file: string;
  function: string;
  params: Record<string, any>;
  inputs: Record<string, TensorRef>;
  expected: Record<string, TensorRef>;
  aux?: Record<string, TensorRef>;
  tolerance: { abs: number; rel_to_max: number };
  notes?: string;
  models?: Record<string, string>;
}

/** A tensor read from a case's vectors file: float data as Float32Array, int64 as BigInt64Array. */
export interface CaseTensor {
  shape: number[];
  dtype: string;
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

export interface CaseContext {
  /** The conformance folder given on the command line. */
  dir: string;
  /** The top-level `conventions` block of cases.json. */
  conventions: Record<string, any>;
  /** Every tensor of the case's vectors file by full name ('input.noise', 'aux.sigmas', …). */
  tensors(): Promise<Map<string, CaseTensor>>;
  /** Absolute path of the model file for a role ('checkpoint', 'lora', …) of this case. */
  model(role: string): string;
}

/**
 * What a handler computed: one Float32Array per `expected` key it produced (keys missing from `got` fail
 * the case), plus an optional note the runner prints (e.g. which noise source an SDE sampler used).
 */
export type CaseOutcome = { got: Record<string, Float32Array>; note?: string } | { skip: string };

export interface CaseHandler {
  /** Short topic name, printed in SKIP reasons. */
  topic: string;
  /** True when this handler knows the case (usually by name prefix + `function`). */
  match(c: ConformanceCase): boolean;
  run(c: ConformanceCase, ctx: CaseContext): Promise<CaseOutcome>;
}
