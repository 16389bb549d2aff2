/**
 * The LDM UNet (SD1.x, SD1.x inpaint, SD2.x, SDXL) as one ONNX graph whose weights are the checkpoint's own
 * bytes. Inputs: x [B,C,H,W], timesteps [B] (float), context [B,T,Cctx], y [B,adm] (only when the model has
 * label_emb), and with `withControl` one residual per input block (`control_0`…) plus `control_middle`.
 * Output `out`: the raw eps or v prediction. Batch, H, W and T are symbolic.
 *
 * ControlNet residuals are added where ComfyUI's apply_control adds them: `control_middle` to the middle
 * block's output; `control_i` to input block i's output at the moment output block (N−1−i) takes it as its
 * skip connection (ComfyUI pops the skips and the control list from the end together, so list index i
 * meets skip i). The encoder path itself never sees them.
 */
import type { SafetensorsFile } from '../../io/safetensors.ts';
import { GraphBuilder, type Dim, type Ep } from '../../onnx/index.ts';
import { WeftError } from '../../errors.ts';
import { parseUNetConfig, type HeadOptions, type Layer, type UNetConfig } from './config.ts';
import { conv, downsample, groupNorm, mlp, resBlock, silu, spatialTransformer, timestepEmbedding, upsample, type Emit } from './blocks.ts';

export interface BuildUNetOptions extends HeadOptions {
  /** Key prefix of the UNet tensors; default `model.diffusion_model.`. */
  prefix?: string;
  /** Add ControlNet residual inputs. */
  withControl?: boolean;
  ep?: Ep;
  name?: string;
}

export interface GraphIO {
  name: string;
  dims: Dim[];
}

export interface BuiltUNet {
  bytes: Uint8Array;
  weightsDir: string;
  config: UNetConfig;
  inputs: GraphIO[];
  outputs: GraphIO[];
  /** Input names of the ControlNet residuals, in ComfyUI's control['output'] order, then the middle one. */
  controlInputs: string[];
}

/** Dim name of a skip's spatial size: `height`, `height/2`, … (documentation only; ORT checks nothing). */
function spatial(axis: 'height' | 'width', down: number): Dim {
  return down === 1 ? axis : `${axis}/${down}`;
}

/** Runs one TimestepEmbedSequential; `like` is the tensor an Upsample must match in size. */
export function runLayers(e: Emit, layers: Layer[], h0: string, emb: string, context: string, like?: string): string {
  let h = h0;
  for (const l of layers) {
    switch (l.kind) {
      case 'conv': h = conv(e, h, l.key.slice(e.prefix.length), 3); break;
      case 'res': h = resBlock(e, h, emb, l); break;
      case 'transformer': h = spatialTransformer(e, h, context, l); break;
      case 'down': h = downsample(e, h, l.key); break;
      case 'up': h = upsample(e, h, l.key, like); break;
    }
  }
  return h;
}

/** Declares x/timesteps/context(/y) and returns the timestep(+ADM) embedding. */
export function embedInputs(e: Emit, cfg: UNetConfig, io: GraphIO[], names = { x: 'x', timesteps: 'timesteps', context: 'context', y: 'y' }): { x: string; emb: string; context: string } {
  const g = e.g;
  const decl = (name: string, dims: Dim[]): string => {
    io.push({ name, dims });
    return g.input(name, 'float32', dims);
  };
  const x = decl(names.x, ['batch', cfg.inChannels, 'height', 'width']);
  const t = decl(names.timesteps, ['batch']);
  const context = decl(names.context, ['batch', 'tokens', cfg.contextDim]);
  let emb = mlp(e, timestepEmbedding(e, t, cfg.modelChannels), 'time_embed.0', 'time_embed.2');
  if (cfg.admInChannels > 0) {
    const y = decl(names.y, ['batch', cfg.admInChannels]);
    emb = g.op('Add', [emb, mlp(e, y, 'label_emb.0.0', 'label_emb.0.2')]);
  }
  return { x, emb, context };
}

export function buildUNet(file: SafetensorsFile, opts: BuildUNetOptions = {}): BuiltUNet {
  const cfg = parseUNetConfig(file, opts);
  if (cfg.outputBlocks.length === 0) throw new WeftError(`${file.path}: UNet under "${cfg.prefix}" has no output blocks`, { file: file.path });
  const g = new GraphBuilder({ name: opts.name ?? 'unet', ep: opts.ep });
  const e: Emit = { g, file, prefix: cfg.prefix };
  const inputs: GraphIO[] = [];
  const { x, emb, context } = embedInputs(e, cfg, inputs);

  const controlInputs: string[] = [];
  const control: string[] = [];
  if (opts.withControl) {
    cfg.skips.forEach((s, i) => {
      const dims: Dim[] = ['batch', s.ch, spatial('height', s.down), spatial('width', s.down)];
      inputs.push({ name: `control_${i}`, dims });
      control.push(g.input(`control_${i}`, 'float32', dims));
    });
    const mdims: Dim[] = ['batch', cfg.middleChannels, spatial('height', cfg.middleDown), spatial('width', cfg.middleDown)];
    inputs.push({ name: 'control_middle', dims: mdims });
    controlInputs.push(...control, g.input('control_middle', 'float32', mdims));
  }

  const skips: string[] = [];
  let h = x;
  for (const layers of cfg.inputBlocks) {
    h = runLayers(e, layers, h, emb, context);
    skips.push(h);
  }
  h = runLayers(e, cfg.middleBlock, h, emb, context);
  if (opts.withControl) h = g.op('Add', [h, controlInputs[controlInputs.length - 1]!]);
  for (const layers of cfg.outputBlocks) {
    const i = skips.length - 1;
    let skip = skips.pop()!;
    if (opts.withControl) skip = g.op('Add', [skip, control[i]!]);
    h = g.op('Concat', [h, skip], { axis: 1 });
    h = runLayers(e, layers, h, emb, context, skips[skips.length - 1]);
  }
  h = conv(e, silu(e, groupNorm(e, h, 'out.0', 1e-5)), 'out.2', 3);
  const outDims: Dim[] = ['batch', cfg.outChannels, 'height', 'width'];
  g.output(h, 'out', 'float32', outDims);
  const { bytes, weightsDir } = g.build();
  return { bytes, weightsDir, config: cfg, inputs, outputs: [{ name: 'out', dims: outDims }], controlInputs };
}
