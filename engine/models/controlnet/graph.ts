/**
 * ControlNet (LDM layout, v1.0/v1.1: `control_model.input_blocks/middle_block` = a copy of the UNet encoder,
 * `input_hint_block` = the hint encoder, `zero_convs.N.0` / `middle_block_out.0` = 1×1 output convs) as one
 * ONNX graph. Inputs: x [B,C,H,W] (already c_in-scaled, like the UNet's), hint [B,3,8H,8W] in [0,1],
 * timesteps [B], context, y (when the copy has label_emb), control_type [types] (a ControlNet Union: union.ts).
 * Outputs are named like the UNet's control inputs (`control_0` … `control_{N-1}`, `control_middle`), unscaled:
 * strength is applied by the caller (merge.ts), so one session serves every strength and several ControlNets
 * can be summed.
 */
import type { SafetensorsFile } from '../../io/safetensors.ts';
import { GraphBuilder, type Dim, type Ep } from '../../onnx/index.ts';
import { WeftError } from '../../errors.ts';
import { parseUNetConfig, headsFromMetadata, type HeadOptions, type UNetConfig } from '../unet/config.ts';
import { conv, silu, type Emit } from '../unet/blocks.ts';
import { dim, embedInputs, runLayers, type GraphIO, type StaticShape } from '../unet/graph.ts';
import { controlAddEmbedding, declareControlType, unionHint, unionSpec, UNION_MARKER } from './union.ts';

export interface BuildControlNetOptions extends HeadOptions {
  /** Key prefix; default: `control_model.` when present, else none. */
  prefix?: string;
  ep?: Ep;
  /** Fixed dims (as for the UNet); height/width are the latent's. */
  shape?: StaticShape;
  /**
   * Build the ControlNet Union extras (union.ts) and its `control_type` input. Default: when the union marker
   * tensor is present; the loader passes false for LDM-layout files, whose union tensors ComfyUI never reads.
   */
  union?: boolean;
}

export interface BuiltControlNet {
  bytes: Uint8Array;
  weightsDir: string;
  config: UNetConfig;
  hintChannels: number;
  inputs: GraphIO[];
  /** Output names in ComfyUI's control order: one per input block, then the middle one. */
  outputs: string[];
  /** Rows of the `control_type` input of a union ControlNet; 0 for any other. */
  unionTypes: number;
}

export function controlNetPrefix(file: SafetensorsFile): string {
  if (file.tensors.has('control_model.input_hint_block.0.weight')) return 'control_model.';
  if (file.tensors.has('input_hint_block.0.weight')) return '';
  throw new WeftError(`${file.path}: not an LDM-layout ControlNet (no input_hint_block.0.weight, with or without "control_model.")`, { file: file.path, type: 'invalid_model_file' });
}

/** Conv indices of input_hint_block (Sequential: conv, SiLU, conv, …; the last conv has no SiLU). */
function hintConvs(file: SafetensorsFile, prefix: string): number[] {
  const idx: number[] = [];
  for (const k of file.tensors.keys()) {
    const m = new RegExp(`^${prefix.replace(/\./g, '\\.')}input_hint_block\\.(\\d+)\\.weight$`).exec(k);
    if (m) idx.push(Number(m[1]));
  }
  return idx.sort((a, b) => a - b);
}

export function buildControlNet(file: SafetensorsFile, opts: BuildControlNetOptions = {}): BuiltControlNet {
  const prefix = opts.prefix ?? controlNetPrefix(file);
  const heads = opts.numHeads === undefined && opts.headChannels === undefined ? headsFromMetadata(file.metadata) : opts;
  const cfg = parseUNetConfig(file, { ...heads, prefix, encoderOnly: true });
  const g = new GraphBuilder({ name: 'controlnet', ep: opts.ep });
  const e: Emit = { g, file, prefix };
  const inputs: GraphIO[] = [];
  const union = (opts.union ?? file.tensors.has(`${prefix}${UNION_MARKER}`)) ? unionSpec(file, prefix, cfg, cfg.timeEmbedDim) : undefined;
  let controlType = '';
  const addType = union && ((t: string): string => {
    controlType = declareControlType(e, union);
    inputs.push({ name: 'control_type', dims: [union.types] });
    return g.op('Add', [t, controlAddEmbedding(e, controlType, union)]);
  });
  const { x, emb, context } = embedInputs(e, cfg, inputs, opts.shape, addType || undefined);
  const sp = (c: number, down: number): Dim[] => [dim(opts.shape, 'batch'), c, dim(opts.shape, 'height', down), dim(opts.shape, 'width', down)];
  const convs = hintConvs(file, prefix);
  const hintChannels = g.shapeOf(file, `${prefix}input_hint_block.${convs[0]}.weight`)[1]!;
  const up8 = (axis: 'height' | 'width'): Dim => (opts.shape?.[axis] !== undefined ? opts.shape[axis]! * 8 : `${axis}*8`);
  const hintDims: Dim[] = [dim(opts.shape, 'batch'), hintChannels, up8('height'), up8('width')];
  inputs.push({ name: 'hint', dims: hintDims });
  let hint = g.input('hint', 'float32', hintDims);
  // The hint encoder downsamples 8× with three stride-2 convs: every channel-changing conv but the first and last.
  convs.forEach((i, n) => {
    const cin = g.shapeOf(file, `${prefix}input_hint_block.${i}.weight`)[1]!;
    const cout = g.shapeOf(file, `${prefix}input_hint_block.${i}.weight`)[0]!;
    const stride = n > 0 && n < convs.length - 1 && cin !== cout ? 2 : 1;
    hint = conv(e, hint, `input_hint_block.${i}`, stride);
    if (n < convs.length - 1) hint = silu(e, hint);
  });
  if (union) hint = unionHint(e, hint, controlType);

  const outputs: string[] = [];
  let h = x;
  cfg.inputBlocks.forEach((layers, i) => {
    h = runLayers(e, layers, h, emb, context);
    if (i === 0) h = g.op('Add', [h, hint]);
    const name = `control_${i}`;
    g.output(conv(e, h, `zero_convs.${i}.0`), name, 'float32', sp(cfg.skips[i]!.ch, cfg.skips[i]!.down));
    outputs.push(name);
  });
  h = runLayers(e, cfg.middleBlock, h, emb, context);
  g.output(conv(e, h, 'middle_block_out.0'), 'control_middle', 'float32', sp(cfg.middleChannels, cfg.middleDown));
  outputs.push('control_middle');
  const { bytes, weightsDir } = g.build();
  return { bytes, weightsDir, config: cfg, hintChannels, inputs, outputs, unionTypes: union?.types ?? 0 };
}
