/**
 * UPSCALE_MODEL: a loaded single-image upscaler. Opening reads only the header (PyTorch files are first
 * converted once to a cached safetensors copy); the ONNX session is created on the first tile, in the
 * model service's worker when one is given (the UI thread stays free), in this thread otherwise.
 */
import type * as ort from 'onnxruntime-node';
import { realpathSync } from 'node:fs';
import { WeftError, errorMessage } from '../../errors.ts';
import { openModelFile, safetensorsPathFor } from '../../io/model-file.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { createSession, runFloat, type Ep } from '../../onnx/index.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import type { ModelService } from '../../runtime/service.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { detectModel } from '../detect.ts';
import { archName, describeUpscaler, sizeMultiple, type UpscalerArch } from './arch.ts';
import { buildUpscalerGraph } from './graph.ts';

export interface UpscaleModelOptions {
  /** Run sessions in the model service's worker threads; without it, sessions run in this thread. */
  models?: ModelService;
  /** Where .pth/.pt upscalers are converted to safetensors (required for PyTorch files). */
  cacheDir?: string;
  threads?: number;
  ep?: Ep;
}

declare module '../../graph/sockets.ts' {
  interface SocketValues {
    UPSCALE_MODEL: UpscaleModel;
  }
}

const BRAND = Symbol.for('weft.UpscaleModel');

type Runner = (image: Tensor) => Promise<Tensor>;

export class UpscaleModel {
  readonly [BRAND] = true;
  /** Human-readable architecture, e.g. "Real-ESRGAN RRDBNet ×4 (64nf, 23nb)". */
  readonly name: string;
  private runner?: Promise<Runner>;
  private session?: ort.InferenceSession;

  private constructor(
    /** The file the user picked. */
    readonly path: string,
    /** The safetensors file the weights are read from (a cached conversion for .pth). */
    readonly weightsPath: string,
    readonly arch: UpscalerArch,
    private readonly opts: UpscaleModelOptions,
  ) {
    this.name = archName(arch);
  }

  get scale(): number { return this.arch.scale; }
  get inChannels(): number { return this.arch.inChannels; }
  get outChannels(): number { return this.arch.outChannels; }

  static open(path: string, opts: UpscaleModelOptions = {}): UpscaleModel {
    let weightsPath = path;
    if (!/\.(safetensors|sft)$/i.test(path)) {
      if (!opts.cacheDir) throw new WeftError(`${path}: PyTorch upscalers need a cache folder to be converted into`, { file: path, type: 'model_load_error' });
      weightsPath = safetensorsPathFor(path, opts.cacheDir);
      // Not a torch zip: either a renamed safetensors or a legacy pickle, which openModelFile explains clearly.
      if (weightsPath === path) openModelFile(path).close();
    }
    const file = SafetensorsFile.open(weightsPath);
    try {
      const arch = describeUpscaler(file);
      if (!arch) throw new WeftError(`${path}: not a supported upscale model (${whatItIs(file)}); supported: ESRGAN / Real-ESRGAN / BSRGAN RRDBNet, ESRGAN+, SRVGGNetCompact`, { file: path, type: 'unknown_model_type' });
      return new UpscaleModel(path, weightsPath, arch, opts);
    } finally {
      file.close();
    }
  }

  /** Runs the network on NCHW [N, inChannels, H, W] in [0,1]; returns [N, outChannels, H·scale, W·scale] clamped to [0,1]. */
  async run(image: Tensor): Promise<Tensor> {
    const [n, c, h, w] = image.shape as [number, number, number, number];
    if (image.shape.length !== 4 || c !== this.inChannels) {
      throw new WeftError(`${this.path}: the upscaler takes ${this.inChannels}-channel images, got [${image.shape.join(', ')}]`, { file: this.path, input: 'image' });
    }
    const m = sizeMultiple(this.arch);
    const ph = (m - (h % m)) % m;
    const pw = (m - (w % m)) % m;
    const run = await (this.runner ??= this.start().catch((e: unknown) => { this.runner = undefined; throw e; }));
    if (ph === 0 && pw === 0) return run(image);
    const out = await run(reflectPad(image, ph, pw));
    return cropTopLeft(out, n, this.outChannels, h * this.scale, w * this.scale);
  }

  async release(): Promise<void> {
    if (this.session) await this.session.release();
    this.session = undefined;
    this.runner = undefined;
  }

  private async start(): Promise<Runner> {
    const file = SafetensorsFile.open(this.weightsPath);
    let bytes: Uint8Array;
    let weightsDir: string;
    // The session holds the weights (fp16 ones cast to fp32) plus its own copy of the graph.
    const sizeBytes = file.fileSize * 2;
    try {
      ({ bytes, weightsDir } = buildUpscalerGraph(file, this.arch, { ep: this.opts.ep }).build());
    } finally {
      file.close();
    }
    const models = this.opts.models;
    if (models) {
      const key = `upscaler:${realpathSync(this.weightsPath)}`;
      const handle = await models.load(key, { graph: bytes, weightsDir, sizeBytes, threads: this.opts.threads });
      return async (image) => {
        const r = await handle.run({ image: { type: 'float32', dims: [...image.shape], data: image.data } });
        const o = r.output;
        if (!o) throw new WeftError(`${this.path}: the upscaler session returned no output`, { file: this.path });
        return { shape: o.dims, data: o.data as Float32Array };
      };
    }
    const session = await createSession(bytes, weightsDir, { label: `upscaler ${this.name} (${this.path})`, threads: this.opts.threads });
    this.session = session;
    return async (image) => {
      try {
        const r = await runFloat(session, { image: { data: image.data, dims: image.shape } });
        return { shape: r.output!.dims, data: r.output!.data };
      } catch (e) {
        throw new WeftError(`${this.path}: upscaler run failed on a ${image.shape[3]}×${image.shape[2]} tile: ${errorMessage(e)}`, { file: this.path, type: 'model_run_failed' });
      }
    };
  }
}

export function isUpscaleModel(v: unknown): v is UpscaleModel {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[BRAND] === true;
}

function whatItIs(file: WeightSource): string {
  try {
    const d = detectModel(file);
    return `it looks like a ${d.family === 'unknown' ? '' : `${d.family} `}${d.kind.replace('_', ' ')}`;
  } catch {
    const keys = [...file.tensors.keys()].slice(0, 3).join(', ');
    return `unrecognised keys${keys ? ` such as ${keys}` : ''}`;
  }
}

/** Bottom/right reflect padding (torch F.pad mode 'reflect'; edge replicate where the image is too small to reflect). */
function reflectPad(t: Tensor, ph: number, pw: number): Tensor {
  const [n, c, h, w] = t.shape as [number, number, number, number];
  const H = h + ph;
  const W = w + pw;
  const out = new Float32Array(n * c * H * W);
  const ref = (i: number, len: number): number => (i < len ? i : Math.max(0, 2 * (len - 1) - i));
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < H; y++) {
      const sy = ref(y, h);
      for (let x = 0; x < W; x++) out[(p * H + y) * W + x] = t.data[(p * h + sy) * w + ref(x, w)]!;
    }
  }
  return { shape: [n, c, H, W], data: out };
}

function cropTopLeft(t: Tensor, n: number, c: number, h: number, w: number): Tensor {
  const [, , H, W] = t.shape as [number, number, number, number];
  const out = new Float32Array(n * c * h * w);
  for (let p = 0; p < n * c; p++) for (let y = 0; y < h; y++) out.set(t.data.subarray((p * H + y) * W, (p * H + y) * W + w), (p * h + y) * w);
  return { shape: [n, c, h, w], data: out };
}
