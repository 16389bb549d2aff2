/**
 * An in-thread UNet session: build the graph from the checkpoint, open it with ORT (weights mapped from the
 * file), and run it on engine Tensors. The runtime moves sessions into worker threads behind this same call.
 */
import type * as ort from 'onnxruntime-node';
import { SafetensorsFile } from '../../io/safetensors.ts';
import { createSession, runFloat, type SessionOptions } from '../../onnx/index.ts';
import { WeftError } from '../../errors.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { buildUNet, type BuildUNetOptions, type BuiltUNet } from './graph.ts';
import { headsFromMetadata, type UNetConfig } from './config.ts';

export interface LoadUNetOptions extends BuildUNetOptions {
  session?: SessionOptions;
}

export interface UNetRunInputs {
  x: Tensor;
  timesteps: Float32Array;
  context: Tensor;
  /** SDXL ADM vector [B, adm]. */
  y?: Tensor;
  /** ControlNet residuals: one per input block in control['output'] order, then the middle one. */
  control?: Tensor[];
}

export interface UNetSession {
  readonly config: UNetConfig;
  readonly graph: Omit<BuiltUNet, 'bytes'>;
  run(inputs: UNetRunInputs): Promise<Tensor>;
  release(): Promise<void>;
}

function check(cond: boolean, path: string, msg: string): void {
  if (!cond) throw new WeftError(`UNet ${path}: ${msg}`, { file: path, type: 'invalid_input' });
}

export async function openUNet(file: SafetensorsFile, opts: LoadUNetOptions = {}): Promise<UNetSession> {
  const heads = opts.numHeads === undefined && opts.headChannels === undefined ? headsFromMetadata(file.metadata) : {};
  const built = buildUNet(file, { ...heads, ...opts });
  const session: ort.InferenceSession = await createSession(built.bytes, built.weightsDir, { label: `UNet ${file.path}`, ...opts.session });
  const { bytes: _bytes, ...graph } = built;
  const cfg = built.config;
  return {
    config: cfg,
    graph,
    async run(inp) {
      const [B, C] = inp.x.shape;
      check(inp.x.shape.length === 4 && C === cfg.inChannels, file.path, `x must be [B, ${cfg.inChannels}, H, W], got [${inp.x.shape.join(', ')}]`);
      check(inp.timesteps.length === B, file.path, `timesteps has ${inp.timesteps.length} values for batch ${B}`);
      check(inp.context.shape.length === 3 && inp.context.shape[0] === B && inp.context.shape[2] === cfg.contextDim, file.path,
        `context must be [${B}, T, ${cfg.contextDim}], got [${inp.context.shape.join(', ')}]`);
      const feeds: Parameters<typeof runFloat>[1] = {
        x: { data: inp.x.data, dims: inp.x.shape },
        timesteps: { data: inp.timesteps, dims: [B!] },
        context: { data: inp.context.data, dims: inp.context.shape },
      };
      if (cfg.admInChannels > 0) {
        check(!!inp.y && inp.y.shape[0] === B && inp.y.shape[1] === cfg.admInChannels, file.path, `this UNet needs y [${B}, ${cfg.admInChannels}] (SDXL ADM conditioning)`);
        feeds.y = { data: inp.y!.data, dims: inp.y!.shape };
      }
      if (built.controlInputs.length > 0) {
        const ctrl = inp.control;
        check(!!ctrl && ctrl.length === built.controlInputs.length, file.path, `graph built withControl needs ${built.controlInputs.length} control residuals, got ${ctrl?.length ?? 0}`);
        built.controlInputs.forEach((name, i) => (feeds[name] = { data: ctrl![i]!.data, dims: ctrl![i]!.shape }));
      } else if (inp.control) {
        throw new WeftError(`UNet ${file.path}: control residuals given but the graph was built without withControl`, { file: file.path });
      }
      const out = (await runFloat(session, feeds)).out!;
      return { shape: out.dims, data: out.data };
    },
    async release() {
      await session.release();
    },
  };
}

/** Opens the checkpoint at `path` and builds its UNet session (the file stays open for ORT's mapping). */
export async function loadUNet(path: string, opts: LoadUNetOptions = {}): Promise<UNetSession> {
  const file = SafetensorsFile.open(path);
  try {
    return await openUNet(file, opts);
  } finally {
    file.close();
  }
}
