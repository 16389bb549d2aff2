/**
 * In-thread ControlNet session, the hint preparation ComfyUI applies to the control image, and the merge of
 * residuals (× strength, summed with a previous ControlNet's) into the UNet's control inputs.
 */
import type * as ort from 'onnxruntime-node';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { createSession, runFloat, type SessionOptions } from '../../onnx/index.ts';
import { WeftError } from '../../errors.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { buildControlNet, type BuildControlNetOptions, type BuiltControlNet } from './graph.ts';
import { controlTypeVector } from './union.ts';

export interface LoadControlNetOptions extends BuildControlNetOptions {
  session?: SessionOptions;
}

export interface ControlNetRunInputs {
  /** The UNet's own input: x·c_in. */
  x: Tensor;
  /** [B, 3, 8H, 8W] in [0,1] (see prepareHint). */
  hint: Tensor;
  timesteps: Float32Array;
  context: Tensor;
  y?: Tensor;
  /** A ControlNet Union's type (task_embedding row); unset: "auto". Ignored by other ControlNets. */
  controlType?: number;
}

export interface ControlNetSession {
  readonly graph: Omit<BuiltControlNet, 'bytes'>;
  /** Raw residuals in control order (input blocks, then middle), not yet scaled by strength. */
  run(inputs: ControlNetRunInputs): Promise<Tensor[]>;
  release(): Promise<void>;
}

export async function openControlNet(file: SafetensorsFile, opts: LoadControlNetOptions = {}): Promise<ControlNetSession> {
  const built = buildControlNet(file, opts);
  const session: ort.InferenceSession = await createSession(built.bytes, built.weightsDir, { label: `ControlNet ${file.path}`, ...opts.session });
  const { bytes: _bytes, ...graph } = built;
  const cfg = built.config;
  return {
    graph,
    async run(inp) {
      const [B, , H, W] = inp.x.shape as [number, number, number, number];
      const bad = (msg: string): never => {
        throw new WeftError(`ControlNet ${file.path}: ${msg}`, { file: file.path, type: 'invalid_input' });
      };
      if (inp.x.shape.length !== 4 || inp.x.shape[1] !== cfg.inChannels) bad(`x must be [B, ${cfg.inChannels}, H, W], got [${inp.x.shape.join(', ')}]`);
      const [hb, hc, hh, hw] = inp.hint.shape;
      if (hb !== B || hc !== built.hintChannels || hh !== H * 8 || hw !== W * 8) bad(`hint must be [${B}, ${built.hintChannels}, ${H * 8}, ${W * 8}], got [${inp.hint.shape.join(', ')}] (use prepareHint)`);
      const feeds: Parameters<typeof runFloat>[1] = {
        x: { data: inp.x.data, dims: inp.x.shape },
        hint: { data: inp.hint.data, dims: inp.hint.shape },
        timesteps: { data: inp.timesteps, dims: [B] },
        context: { data: inp.context.data, dims: inp.context.shape },
      };
      if (cfg.admInChannels > 0) {
        if (!inp.y) bad(`this ControlNet needs y [${B}, ${cfg.admInChannels}]`);
        feeds.y = { data: inp.y!.data, dims: inp.y!.shape };
      }
      if (built.unionTypes > 0) {
        const t = inp.controlType;
        if (t !== undefined && !(Number.isInteger(t) && t >= 0 && t < built.unionTypes)) bad(`controlType ${t} is not one of its ${built.unionTypes} control types`);
        feeds.control_type = { data: controlTypeVector(inp.controlType, built.unionTypes), dims: [built.unionTypes] };
      }
      const r = await runFloat(session, feeds);
      return built.outputs.map((n) => ({ shape: r[n]!.dims, data: r[n]!.data }));
    },
    async release() {
      await session.release();
    },
  };
}

export async function loadControlNet(path: string, opts: LoadControlNetOptions = {}): Promise<ControlNetSession> {
  const file = SafetensorsFile.open(path);
  try {
    return await openControlNet(file, opts);
  } finally {
    file.close();
  }
}

/**
 * ComfyUI IMAGE [N,H,W,C] → hint [batch,C,8h,8w]: NCHW, resized with 'nearest-exact' after a centre crop to
 * the target aspect when the size differs. Rows follow ComfyUI's broadcast_image_to: the model batch is
 * `groups` equal parts (cond / uncond); each part takes the image rows in order, cycling or truncating.
 */
export function prepareHint(image: Tensor, batch: number, latentH: number, latentW: number, groups = 1): Tensor {
  const [N, H, W, C] = image.shape as [number, number, number, number];
  const th = latentH * 8;
  const tw = latentW * 8;
  if (image.shape.length !== 4 || batch % groups !== 0) throw new WeftError(`control image [${image.shape.join(', ')}] does not fit batch ${batch} in ${groups} groups`, { type: 'invalid_input' });
  const perGroup = batch / groups;
  const rowOf = (b: number): number => (N === 1 ? 0 : (b % perGroup) % N);
  // Centre crop to the target aspect ratio (common_upscale 'center'), then sample nearest-exact.
  let x0 = 0, y0 = 0;
  if (H !== th || W !== tw) {
    const old = W / H, want = tw / th;
    if (old > want) x0 = roundHalfEven((W - W * (want / old)) / 2);
    else if (old < want) y0 = roundHalfEven((H - H * (old / want)) / 2);
  }
  const cw = W - 2 * x0, ch = H - 2 * y0;
  const out = new Float32Array(batch * C * th * tw);
  for (let b = 0; b < batch; b++) {
    const n = rowOf(b);
    for (let y = 0; y < th; y++) {
      const sy = y0 + Math.min(ch - 1, Math.floor((y + 0.5) * (ch / th)));
      for (let x = 0; x < tw; x++) {
        const sx = x0 + Math.min(cw - 1, Math.floor((x + 0.5) * (cw / tw)));
        const src = ((n * H + sy) * W + sx) * C;
        for (let c = 0; c < C; c++) out[((b * C + c) * th + y) * tw + x] = image.data[src + c]!;
      }
    }
  }
  return { shape: [batch, C, th, tw], data: out };
}

/** Python's round(): ties to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** residual·strength (+ prev, for chained ControlNets), the UNet's control inputs. */
export function mergeControl(residuals: Tensor[], strength: number, prev?: Tensor[]): Tensor[] {
  if (prev && prev.length !== residuals.length) throw new WeftError(`cannot merge ${residuals.length} control residuals with ${prev.length}`);
  return residuals.map((r, i) => {
    const data = new Float32Array(r.data.length);
    const p = prev?.[i]?.data;
    for (let j = 0; j < data.length; j++) data[j] = r.data[j]! * strength + (p ? p[j]! : 0);
    return { shape: [...r.shape], data };
  });
}
