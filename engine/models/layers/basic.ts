/**
 * Shared layers, parameters named by checkpoint key prefixes: `linear(g, file, 'a.b.fc1', x)` reads
 * `a.b.fc1.weight` and (when present) `a.b.fc1.bias`. Every dimension comes from tensor shapes.
 * Op choices follow g.ep: the CPU EP gets com.microsoft FusedMatMul (torch [out,in] weights with transB, no
 * transposed copy); WebGPU has no FusedMatMul, so it gets MatMul over a Transpose that ORT folds at load.
 */
import { WeftError } from '../../errors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { DataType, MS_DOMAIN, type GraphBuilder } from '../../onnx/index.ts';
import { keepFloat32, toCompute } from '../../onnx/precision.ts';

export interface LinearOptions {
  /** Use only output rows [a, b) of the weight (and bias): fused q/k/v, GEGLU halves. */
  rows?: [number, number];
  /** Ignore a bias even if the checkpoint has one. */
  noBias?: boolean;
}

export function linear(g: GraphBuilder, file: WeightSource, prefix: string, x: string, opts: LinearOptions = {}): string {
  return linearKeys(g, file, `${prefix}.weight`, `${prefix}.bias`, x, opts);
}

/** Linear with explicit keys (OpenCLIP's `attn.in_proj_weight` / `in_proj_bias`). */
export function linearKeys(g: GraphBuilder, file: WeightSource, wKey: string, bKey: string, x: string, opts: LinearOptions = {}): string {
  const w = g.weight(file, wKey, { rows: opts.rows });
  const y = g.ep === 'cpu'
    ? g.op('FusedMatMul', [x, w], { transB: 1, alpha: 1 }, { domain: MS_DOMAIN })
    : g.op('MatMul', [x, g.op('Transpose', [w], { perm: [1, 0] })]);
  if (opts.noBias || !file.has(bKey)) return y;
  return g.op('Add', [y, g.weight(file, bKey, { rows: opts.rows })]);
}

/** x @ W for weights stored [in, out] (OpenCLIP `text_projection`). */
export function matmulWeight(g: GraphBuilder, file: WeightSource, key: string, x: string): string {
  return g.op('MatMul', [x, g.weight(file, key)]);
}

export interface ConvOptions {
  stride?: number;
  /** [top, left, bottom, right]; default symmetric kernel/2. */
  pads?: [number, number, number, number];
}

/**
 * ORT's WebGPU Conv computes wrong values (errors ~10, not rounding) for spatial kernels whose input channel
 * count is a multiple of 3 but not of 4, above 3 (6, 9, 15, 18, 21, 27, …: measured on lavapipe with ORT 1.30;
 * 1–5, 7, 8, 12, 24, 36 are exact) — e.g. the 9-channel input conv of inpainting UNets. The GPU variant pads
 * such inputs with zero channels, in the activation and the weight alike, up to a multiple of 4: the same sum.
 */
function webgpuChannelPad(g: GraphBuilder, x: string, w: string, shape: readonly number[]): string[] {
  const cin = shape[1] ?? 1;
  const spatial = (shape[2] ?? 1) * (shape[3] ?? 1) > 1;
  if (g.ep !== 'webgpu' || !spatial || cin <= 4 || cin % 4 === 0) return [x, w];
  const extra = 4 - (cin % 4);
  const pads = g.constInt64([0, 0, 0, 0, 0, extra, 0, 0]);
  return [g.op('Pad', [x, pads]), g.op('Pad', [w, pads])];
}

export function conv2d(g: GraphBuilder, file: WeightSource, prefix: string, x: string, opts: ConvOptions = {}): string {
  const wKey = `${prefix}.weight`;
  const shape = g.shapeOf(file, wKey);
  const [kh, kw] = [shape[2] ?? 1, shape[3] ?? 1];
  const pads = opts.pads ?? [Math.floor(kh / 2), Math.floor(kw / 2), Math.floor(kh / 2), Math.floor(kw / 2)];
  const s = opts.stride ?? 1;
  const inputs = webgpuChannelPad(g, x, g.weight(file, wKey), shape);
  if (file.has(`${prefix}.bias`)) inputs.push(g.weight(file, `${prefix}.bias`));
  return g.op('Conv', inputs, { kernel_shape: [kh, kw], strides: [s, s], pads: [pads[0], pads[1], pads[2], pads[3]] });
}

/** GroupNormalization-21 (per-channel affine). SD uses 32 groups; the VAE eps is 1e-6, the UNet's 1e-5. */
/**
 * GroupNorm as Reshape → InstanceNormalization → per-channel affine rather than GroupNormalization-21:
 * ORT's GroupNormalization computes the variance as E[x²] − E[x]², which cancels catastrophically (and can
 * go negative → NaN) for groups with a large mean and a small spread — seen in real UNet steps. Instance
 * normalization over the grouped view computes it stably, at the same CPU cost.
 */
export function groupNorm(g: GraphBuilder, file: WeightSource, prefix: string, x: string, opts: { groups?: number; eps?: number } = {}): string {
  const channels = g.shapeOf(file, `${prefix}.weight`)[0]!;
  const groups = opts.groups ?? 32;
  if (channels % groups !== 0) {
    throw new WeftError(`${file.path}: "${prefix}" normalises ${channels} channels, not divisible into ${groups} groups`, { file: file.path, input: `${prefix}.weight`, type: 'model_load_error' });
  }
  const grouped = g.op('Reshape', [x, g.constInt64([0, groups, -1])]);
  if (g.ep === 'webgpu') {
    // WebGPU's InstanceNormalization has the same E[x²] − E[x]² cancellation (0.47 off at mean 20 / spread 0.05).
    const norm = g.op('Reshape', [twoPassNorm(g, grouped, 2, opts.eps ?? 1e-6), g.op('Shape', [x])]);
    const perChannel = (k: string): string => g.op('Unsqueeze', [g.weight(file, `${prefix}.${k}`), g.constInt64([1, 2])]);
    return g.op('Add', [g.op('Mul', [norm, perChannel('weight')]), perChannel('bias')]);
  }
  const ones = g.constant(new Float32Array(groups).fill(1), [groups]);
  const norm = g.op('InstanceNormalization', [grouped, ones, g.constant(new Float32Array(groups), [groups])], { epsilon: opts.eps ?? 1e-6 });
  const back = g.op('Reshape', [norm, g.op('Shape', [x])]);
  const perChannel = (k: string): string => g.op('Unsqueeze', [g.weight(file, `${prefix}.${k}`), g.constInt64([1, 2])]);
  return g.op('Add', [g.op('Mul', [back, perChannel('weight')]), perChannel('bias')]);
}

export function layerNorm(g: GraphBuilder, file: WeightSource, prefix: string, x: string, eps = 1e-5): string {
  if (g.ep === 'webgpu') return twoPassLayerNorm(g, file, prefix, x, eps);
  return g.op('LayerNormalization', [x, g.weight(file, `${prefix}.weight`), g.weight(file, `${prefix}.bias`)], { axis: -1, epsilon: eps });
}

/**
 * ORT 1.30's WebGPU LayerNormalization takes the variance as E[x²] − E[x]², which cancels for rows with a large
 * mean and small spread (measured on lavapipe: 3.7e-2·max off at mean 20 / spread 0.05; the UNet's residual
 * stream fails conformance by it). Mean first, then the centred variance, as torch does; in fp16 graphs the
 * statistics stay float32 (squares of fp16 values overflow past 256).
 */
function twoPassLayerNorm(g: GraphBuilder, file: WeightSource, prefix: string, x: string, eps: number): string {
  return g.op('Add', [g.op('Mul', [twoPassNorm(g, x, -1, eps), g.weight(file, `${prefix}.weight`)]), g.weight(file, `${prefix}.bias`)]);
}

/** (x − mean) / sqrt(var + eps) over `axis`, mean taken first; statistics in float32 even in fp16 graphs. */
export function twoPassNorm(g: GraphBuilder, x: string, axis: number, eps: number): string {
  return toCompute(g, keepFloat32(g, () => {
    const xf = g.fp16 ? g.op('Cast', [x], { to: DataType.float32 }) : x;
    const axes = g.constInt64([axis]);
    const d = g.op('Sub', [xf, g.op('ReduceMean', [xf, axes], { keepdims: 1 })]);
    const v = g.op('ReduceMean', [g.op('Mul', [d, d]), axes], { keepdims: 1 });
    return g.op('Div', [d, g.op('Sqrt', [g.op('Add', [v, g.scalar(eps)])])]);
  }));
}

export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/** Exact (erf) GELU, ai.onnx Gelu-20. */
export function gelu(g: GraphBuilder, x: string): string {
  return g.op('Gelu', [x]);
}

/** x·sigmoid(1.702x), OpenAI CLIP's activation; QuickGelu exists on both CPU and WebGPU. */
export function quickGelu(g: GraphBuilder, x: string): string {
  return g.op('QuickGelu', [x], { alpha: 1.702 }, { domain: MS_DOMAIN });
}

export type Activation = 'gelu' | 'quick_gelu' | 'silu';

export function activation(g: GraphBuilder, kind: Activation, x: string): string {
  return kind === 'gelu' ? gelu(g, x) : kind === 'quick_gelu' ? quickGelu(g, x) : silu(g, x);
}

/** GEGLU: proj → halves (h, gate) → h·gelu(gate); the halves are two byte ranges of one weight, no Split. */
export function geglu(g: GraphBuilder, file: WeightSource, prefix: string, x: string): string {
  const out = g.shapeOf(file, `${prefix}.weight`)[0]!;
  const half = out / 2;
  const h = linear(g, file, prefix, x, { rows: [0, half] });
  const gate = linear(g, file, prefix, x, { rows: [half, out] });
  return g.op('Mul', [h, gelu(g, gate)]);
}
