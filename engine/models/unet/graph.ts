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
import type { WeightSource } from '../../onnx/weights.ts';
import { WeftError } from '../../errors.ts';
import { keepFloat32 } from '../../onnx/precision.ts';
import { downsampledSize, parseUNetConfig, type HeadOptions, type Layer, type UNetConfig } from './config.ts';
import { conv, downsample, groupNorm, mlp, resBlock, silu, spatialTransformer, timestepEmbedding, upsample, type AttentionInputHook, type CrossAttentionHook, type CrossAttnSite, type Emit, type LayerPatch, type MiddlePatchHook } from './blocks.ts';

export interface BuildUNetOptions extends HeadOptions {
  /** Key prefix of the UNet tensors; default `model.diffusion_model.`. */
  prefix?: string;
  /**
   * Add ControlNet residual inputs. 'input' also adds T2I-Adapter ones (`control_input_i`, ComfyUI's
   * control['input']) and leaves every control input's dims symbolic so an absent residual is fed as a
   * broadcast [1,1,1,1] zero (a T2I-Adapter fills 4 of 12 blocks; a ControlNet none of them).
   */
  withControl?: boolean | 'input';
  ep?: Ep;
  name?: string;
  /** Fix some dims instead of leaving them symbolic (lets ORT plan memory for one size). */
  shape?: StaticShape;
  /** Rewrites every Linear/Conv output (LoRA branches); see LayerPatch. */
  patch?: LayerPatch;
  /**
   * Wraps the weight file, e.g. with LoRA-merged tensors from a side file (engine/models/lora); the graph
   * then reads patched keys from there and every other key from the user's checkpoint.
   */
  weights?: (file: WeightSource) => WeightSource;
  /**
   * Decoupled cross-attention terms added to every attn2 output (IP-Adapter); each hook declares its own
   * extra graph inputs, listed in `inputs` after x/timesteps/context(/y). None: the graph is unchanged.
   */
  crossAttention?: CrossAttentionHook[];
  /** Hooks on the inputs of every attn1/attn2 projection (hypernetworks), in order; see AttentionInputHook. */
  attentionInputs?: AttentionInputHook[];
  /** ComfyUI's middle_patch (GLIGEN): declared like crossAttention hooks; none = the graph is unchanged. */
  middlePatches?: MiddlePatchHook[];
  /**
   * ComfyUI's output_block_patch list (FreeU): each sees the backbone `h` and the skip (ControlNet residual
   * already added) just before they are concatenated, and returns both, possibly changed. Applied in order.
   */
  outputBlockPatches?: OutputBlockPatch[];
}

export interface OutputBlockSite {
  g: GraphBuilder;
  /** output_blocks index. */
  block: number;
  h: string;
  skip: string;
  hChannels: number;
  skipChannels: number;
  /** The UNet's model_channels (FreeU picks blocks by h's width relative to it). */
  modelChannels: number;
}
export type OutputBlockPatch = (site: OutputBlockSite) => { h: string; skip: string };

export interface StaticShape { batch?: number; height?: number; width?: number; tokens?: number }

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

/** A dim: fixed when `shape` gives it, else symbolic (`height`, `height/2`, … — names only, ORT checks nothing). */
export function dim(shape: StaticShape | undefined, axis: keyof StaticShape, down = 1): Dim {
  const v = shape?.[axis];
  if (v !== undefined) return down === 1 ? v : downsampledSize(v, down);
  return down === 1 ? axis : `${axis}/${down}`;
}

/** Runs one TimestepEmbedSequential; `like` is the tensor an Upsample must match in size. */
export function runLayers(e: Emit, layers: Layer[], h0: string, emb: string, context: string, like?: string): string {
  let h = h0;
  for (const l of layers) {
    switch (l.kind) {
      case 'conv': h = conv(e, h, l.key.slice(e.prefix.length)); break;
      case 'res': h = resBlock(e, h, emb, l); break;
      case 'transformer': h = spatialTransformer(e, h, context, l); break;
      case 'down': h = downsample(e, h, l.key); break;
      case 'up': h = upsample(e, h, l.key, like); break;
    }
  }
  return h;
}

/** Declares x/timesteps/context(/y) and returns the timestep(+ADM) embedding. */
/** `addToTime` may add a term to the time embedding before label_emb (a union ControlNet's control-type embedding). */
export function embedInputs(e: Emit, cfg: UNetConfig, io: GraphIO[], shape?: StaticShape, addToTime?: (emb: string) => string): { x: string; emb: string; context: string } {
  const g = e.g;
  const decl = (name: string, dims: Dim[]): string => {
    io.push({ name, dims });
    return g.input(name, 'float32', dims);
  };
  const B = dim(shape, 'batch');
  const x = decl('x', [B, cfg.inChannels, dim(shape, 'height'), dim(shape, 'width')]);
  const t = keepFloat32(g, () => decl('timesteps', [B])); // stays float32 in fp16 graphs (see timestepEmbedding)
  const context = decl('context', [B, dim(shape, 'tokens'), cfg.contextDim]);
  let emb = mlp(e, timestepEmbedding(e, t, cfg.modelChannels), 'time_embed.0', 'time_embed.2');
  if (addToTime) emb = addToTime(emb);
  if (cfg.admInChannels > 0) {
    const y = decl('y', [B, cfg.admInChannels]);
    emb = g.op('Add', [emb, mlp(e, y, 'label_emb.0.0', 'label_emb.0.2')]);
  }
  return { x, emb, context };
}

/** Every attn2 layer in emission order; transformerIndex counts SpatialTransformers as ComfyUI does. */
export function crossAttnSites(cfg: UNetConfig): CrossAttnSite[] {
  const sites: CrossAttnSite[] = [];
  let t = 0;
  const visit = (layers: Layer[], block: CrossAttnSite['block'], id: number, down0: number): void => {
    let down = down0;
    for (const l of layers) {
      if (l.kind === 'down') down *= 2;
      if (l.kind === 'up') down /= 2;
      if (l.kind !== 'transformer') continue;
      for (let d = 0; d < l.depth; d++) sites.push({ block, id, transformerIndex: t, depthIndex: d, heads: l.heads, inner: l.inner, down });
      t++;
    }
  };
  cfg.inputBlocks.forEach((b, i) => visit(b, 'input', i, i === 0 ? 1 : cfg.skips[i - 1]!.down));
  visit(cfg.middleBlock, 'middle', 0, cfg.middleDown);
  // Output block i works at the size of the skip it pops (input block N−1−i) until its Upsample.
  cfg.outputBlocks.forEach((b, i) => visit(b, 'output', i, cfg.skips[cfg.skips.length - 1 - i]!.down));
  return sites;
}

export function buildUNet(base: SafetensorsFile, opts: BuildUNetOptions = {}): BuiltUNet {
  const file = (opts.weights ? opts.weights(base) : base) as SafetensorsFile;
  const cfg = parseUNetConfig(file, opts);
  if (cfg.outputBlocks.length === 0) throw new WeftError(`${file.path}: UNet under "${cfg.prefix}" has no output blocks`, { file: file.path });
  const g = new GraphBuilder({ name: opts.name ?? 'unet', ep: opts.ep });
  const e: Emit = { g, file, prefix: cfg.prefix, patch: opts.patch };
  if (opts.attentionInputs?.length) e.attentionInputs = opts.attentionInputs;
  const inputs: GraphIO[] = [];
  const { x, emb, context } = embedInputs(e, cfg, inputs, opts.shape);
  const hooks = [...(opts.crossAttention ?? []), ...(opts.middlePatches ?? [])];
  if (hooks.length) {
    if (opts.crossAttention?.length) e.crossAttention = opts.crossAttention;
    if (opts.middlePatches?.length) e.middlePatches = opts.middlePatches;
    e.sites = crossAttnSites(cfg);
    const declare = (name: string, dims: Dim[]): string => {
      inputs.push({ name, dims });
      return g.input(name, 'float32', dims);
    };
    for (const h of hooks) h.begin({ g, sites: e.sites, declare });
  }
  const sp = (c: number, down: number): Dim[] => [dim(opts.shape, 'batch'), c, dim(opts.shape, 'height', down), dim(opts.shape, 'width', down)];

  const controlInputs: string[] = [];
  const control: string[] = [];
  const inputControl: string[] = [];
  // Symbolic per-input dims (see withControl): the broadcasting Add accepts a full residual or a [1,1,1,1] zero.
  const loose = (name: string): Dim[] => ['b', 'c', 'h', 'w'].map((a) => `${name}_${a}`);
  if (opts.withControl) {
    cfg.skips.forEach((s, i) => {
      const dims = opts.withControl === 'input' ? loose(`control_${i}`) : sp(s.ch, s.down);
      inputs.push({ name: `control_${i}`, dims });
      control.push(g.input(`control_${i}`, 'float32', dims));
    });
    const mdims = opts.withControl === 'input' ? loose('control_middle') : sp(cfg.middleChannels, cfg.middleDown);
    inputs.push({ name: 'control_middle', dims: mdims });
    controlInputs.push(...control, g.input('control_middle', 'float32', mdims));
    if (opts.withControl === 'input') {
      cfg.skips.forEach((_s, i) => {
        const name = `control_input_${i}`;
        inputs.push({ name, dims: loose(name) });
        inputControl.push(g.input(name, 'float32', loose(name)));
      });
      controlInputs.push(...inputControl);
    }
  }

  const skips: string[] = [];
  let h = x;
  for (const [i, layers] of cfg.inputBlocks.entries()) {
    h = runLayers(e, layers, h, emb, context);
    // ComfyUI's apply_control(h, control, 'input'): a T2I feature joins h itself, so the next block sees it too.
    if (inputControl.length) h = g.op('Add', [h, inputControl[i]!]);
    skips.push(h);
  }
  h = runLayers(e, cfg.middleBlock, h, emb, context);
  if (opts.withControl) h = g.op('Add', [h, controlInputs[control.length]!]);
  cfg.outputBlocks.forEach((layers, block) => {
    const i = skips.length - 1;
    let skip = skips.pop()!;
    if (opts.withControl) skip = g.op('Add', [skip, control[i]!]);
    if (opts.outputBlockPatches?.length) ({ h, skip } = patchOutputBlock(opts.outputBlockPatches, { g, block, h, skip, modelChannels: cfg.modelChannels, ...widths(cfg, layers, i) }));
    h = g.op('Concat', [h, skip], { axis: 1 });
    h = runLayers(e, layers, h, emb, context, skips[skips.length - 1]);
  });
  h = conv(e, silu(e, groupNorm(e, h, 'out.0', 1e-5)), 'out.2');
  const outDims = sp(cfg.outChannels, 1);
  g.output(h, 'out', 'float32', outDims);
  const { bytes, weightsDir } = g.build();
  return { bytes, weightsDir, config: cfg, inputs, outputs: [{ name: 'out', dims: outDims }], controlInputs };
}

/** Channel widths at output block `layers` taking skip `i`: its first ResBlock reads concat(h, skip). */
function widths(cfg: UNetConfig, layers: Layer[], i: number): { hChannels: number; skipChannels: number } {
  const first = layers[0];
  const skipChannels = cfg.skips[i]!.ch;
  if (first?.kind !== 'res') throw new WeftError(`${cfg.prefix}output_blocks: an output block does not start with a ResBlock; output-block patches cannot tell h's width`);
  return { hChannels: first.cin - skipChannels, skipChannels };
}

function patchOutputBlock(patches: OutputBlockPatch[], site: OutputBlockSite): { h: string; skip: string } {
  let { h, skip } = site;
  for (const p of patches) ({ h, skip } = p({ ...site, h, skip }));
  return { h, skip };
}
