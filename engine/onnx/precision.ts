/**
 * fp16 graph variants for GPU providers (research/onnx.md §3: WebGPU wants a graph that is fp16 end to end;
 * on the CPU EP fp16 is storage only, so CPU graphs stay float32 and are untouched by this file).
 *
 * A builder made with `dtype: 'float16'` keeps model code unchanged and rewrites at emit time:
 *  - weights: fp16 tensors are used as stored (no Cast); fp32/bf16 tensors get one Cast to fp16 that ORT
 *    folds at load;
 *  - graph boundaries: float32 inputs are Cast to fp16 on entry and float32 outputs Cast back, so callers
 *    still feed and read Float32Array (runFloat, the worker wire format, the conformance vectors);
 *  - float32 constants (`g.scalar`, `g.constant(Float32Array)`) get an fp16 twin wherever an op consumes
 *    them, except the inputs ONNX types as float32 regardless of T (Resize roi/scales, Upsample scales);
 *  - `Cast(to=FLOAT)` in model code means "to the compute float type" and becomes `Cast(to=FLOAT16)`.
 * Precision-sensitive spots (e.g. sinusoidal timestep embeddings: an fp16 angle near 1000 rad is off by
 * ~0.5 rad) are wrapped in `keepFloat32(g, …)`, where nothing is rewritten, then `toCompute(g, v)`.
 *
 * Model builders that do not take a dtype yet can be built inside `buildWithDtype('float16', …)`: graph
 * building is synchronous, so a scoped default cannot leak into another build.
 */
import { float32ToFloat16Array } from '../io/safetensors.ts';
import { DataType } from './proto.ts';

export type FloatDtype = 'float32' | 'float16';

/** ONNX TensorProto element type of a compute dtype. */
export const FLOAT_TYPE: Record<FloatDtype, number> = { float32: DataType.float32, float16: DataType.float16 };

/**
 * Tolerance for fp16 GPU graphs against float32 references (cases.json rule: abs + rel_to_max·max|exp|).
 * Why this size: WebGPU's fp16 kernels round inputs to 11 bits and accumulate in fp16 (one 3×3 conv over 64
 * channels alone is ~7e-3·max off), and a VAE stacks ~20 of them. Measured on lavapipe, worst error / max|exp|:
 * VAE decode 2.3% (tiny_sd15 vae_decode), UNet eps 1.2%, CLIP hidden 0.3%. Real SD weights need their own check.
 */
export const FP16_TOLERANCE = { abs: 5e-3, rel_to_max: 4e-2 } as const;

/** WebGPU fp32 graphs vs the CPU EP: same math, different summation order. */
export const GPU_FP32_TOLERANCE = { abs: 1e-5, rel_to_max: 1e-4 } as const;

let ambient: FloatDtype = 'float32';

/** The dtype a builder gets when its options name none (float32 outside `buildWithDtype`). */
export function defaultDtype(): FloatDtype {
  return ambient;
}

/** Runs a synchronous graph build with `dtype` as the default of every GraphBuilder created inside. */
export function buildWithDtype<T>(dtype: FloatDtype, build: () => T): T {
  const prev = ambient;
  ambient = dtype;
  try {
    const r = build();
    if (r instanceof Promise) throw new Error('buildWithDtype: the build must be synchronous');
    return r;
  } finally {
    ambient = prev;
  }
}

/** What the policy needs from the builder (kept structural to avoid an import cycle). */
export interface PolicyHost {
  readonly fp16?: Fp16Policy;
  op(type: string, inputs: string[], attrs?: Record<string, unknown>): string;
  constant(data: Float32Array | Uint16Array, dims: number[]): string;
}

/** Inputs that ONNX types as float32 whatever the data type: [op, first index, last index]. */
const FP32_SLOTS: Record<string, [number, number]> = { Resize: [1, 2], Upsample: [1, 1] };

export class Fp16Policy {
  private readonly consts = new Map<string, { data: Float32Array; dims: number[] }>();
  private readonly twins = new Map<string, string>();
  private keepDepth = 0;

  constructor(private readonly host: PolicyHost) {}

  /** Records a float32 constant so that consumers can get its fp16 twin. */
  noteConstant(name: string, data: Float32Array, dims: number[]): void {
    this.consts.set(name, { data: data.slice(), dims: [...dims] });
  }

  /** A float32 graph input as the fp16 value the model code computes with. */
  enter(input: string): string {
    return this.host.op('Cast', [input], { to: DataType.float16 });
  }

  /** A float32 graph output from an fp16 value (outside the rewriting, so the Cast stays float32). */
  exit(value: string): string {
    return this.keep(() => this.host.op('Cast', [value], { to: DataType.float32 }));
  }

  /** Rewrites one node's inputs and attributes (see the file comment); identity inside keepFloat32. */
  node<A>(type: string, inputs: string[], attrs: Record<string, A>): { inputs: string[]; attrs: Record<string, A> } {
    if (this.keepDepth > 0) return { inputs, attrs };
    if (type === 'Cast' && (attrs.to as unknown) === DataType.float32) attrs = { ...attrs, to: DataType.float16 as A };
    const slots = FP32_SLOTS[type];
    const mapped = inputs.map((name, i) => (slots && i >= slots[0] && i <= slots[1] ? name : this.twin(name)));
    return { inputs: mapped, attrs };
  }

  private twin(name: string): string {
    const c = this.consts.get(name);
    if (!c) return name;
    let t = this.twins.get(name);
    if (!t) {
      t = this.host.constant(float32ToFloat16Array(c.data), c.dims);
      this.twins.set(name, t);
    }
    return t;
  }

  keep<T>(fn: () => T): T {
    this.keepDepth++;
    try {
      return fn();
    } finally {
      this.keepDepth--;
    }
  }

  get inFloat32Scope(): boolean {
    return this.keepDepth > 0;
  }
}

/** Builds part of a graph in float32 even in an fp16 graph (no rewriting inside); a no-op in fp32 graphs. */
export function keepFloat32<T>(g: PolicyHost, fn: () => T): T {
  return g.fp16 ? g.fp16.keep(fn) : fn();
}

/** Casts a float32 value (from a keepFloat32 region or an fp32-typed op) to the graph's compute type. */
export function toCompute(g: PolicyHost, value: string): string {
  return g.fp16 ? g.fp16.keep(() => g.op('Cast', [value], { to: DataType.float16 })) : value;
}
