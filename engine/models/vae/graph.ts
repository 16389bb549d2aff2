/**
 * The SD / SDXL KL autoencoder (LDM `first_stage_model.*` layout, or a standalone VAE file with the same
 * names and no prefix). Widths, level count and blocks per level are read from tensor shapes.
 * Decoder graph: latent [B, zc, h, w] → `decoded` [B, 3, 8h, 8w] (≈[-1,1]) and `image` NHWC in [0,1]
 * (ComfyUI VAEDecode: clamp((x+1)/2)). Encoder graph: image NHWC [0,1] → `mean`, `logvar` (clamped to
 * [-30, 20] as DiagonalGaussianDistribution does). Latent scale factors are the sampler's business.
 */
import { WeftError } from '../../errors.ts';
import type { WeightSource } from '../../onnx/weights.ts';
import { GraphBuilder, type Ep } from '../../onnx/index.ts';
import { attention, conv2d, downsample2x, groupNorm, linear, nchwToTokens, resBlock, silu, tokensToNchw, upsample2x } from '../layers/index.ts';

export interface VaeSpec {
  /** '' for a standalone VAE file, else e.g. 'first_stage_model'. */
  prefix: string;
  levels: number;
  /** ResNet blocks per encoder level (the decoder has one more). */
  resBlocks: number;
  latentChannels: number;
  hasQuantConv: boolean;
}

export function vaeSpec(file: WeightSource, prefix?: string): VaeSpec {
  const p = prefix ?? (file.has('first_stage_model.decoder.conv_in.weight') ? 'first_stage_model' : file.has('decoder.conv_in.weight') ? '' : null);
  if (p === null) throw new WeftError(`${file.path}: no VAE found (neither first_stage_model.decoder.* nor decoder.*)`, { file: file.path, type: 'model_load_error' });
  const k = (s: string) => (p ? `${p}.${s}` : s);
  if (!file.has(k('decoder.conv_in.weight'))) throw new WeftError(`${file.path}: no VAE decoder under "${p}"`, { file: file.path, type: 'model_load_error' });
  let levels = 0;
  while (file.has(k(`decoder.up.${levels}.block.0.conv1.weight`))) levels++;
  let blocks = 0;
  while (file.has(k(`decoder.up.0.block.${blocks}.conv1.weight`))) blocks++;
  return {
    prefix: p, levels, resBlocks: blocks - 1,
    latentChannels: file.get(k('decoder.conv_in.weight')).shape[1]!,
    hasQuantConv: file.has(k('post_quant_conv.weight')),
  };
}

const GN = { groups: 32, eps: 1e-6 };

/** Single-head self-attention over pixels; q/k/v/proj_out are 1×1 convs (or Linear in some conversions). */
function attnBlock(g: GraphBuilder, file: WeightSource, p: string, x: string): string {
  const h = groupNorm(g, file, `${p}.norm`, x, GN);
  const linearStyle = g.shapeOf(file, `${p}.q.weight`).length === 2;
  const proj = (name: string, inp: string) => (linearStyle ? linear(g, file, `${p}.${name}`, nchwToTokens(g, inp)) : nchwToTokens(g, conv2d(g, file, `${p}.${name}`, inp)));
  const a = attention(g, proj('q', h), proj('k', h), proj('v', h), 1);
  const out = linearStyle ? tokensToNchw(g, linear(g, file, `${p}.proj_out`, a), x) : conv2d(g, file, `${p}.proj_out`, tokensToNchw(g, a, x));
  return g.op('Add', [x, out]);
}

function mid(g: GraphBuilder, file: WeightSource, p: string, x: string): string {
  x = resBlock(g, file, `${p}.block_1`, x, GN);
  x = attnBlock(g, file, `${p}.attn_1`, x);
  return resBlock(g, file, `${p}.block_2`, x, GN);
}

export function buildVaeDecoder(file: WeightSource, spec: VaeSpec, opts: { ep?: Ep } = {}): GraphBuilder {
  const g = new GraphBuilder({ name: `vae_decoder:${file.path}`, ep: opts.ep });
  const k = (s: string) => (spec.prefix ? `${spec.prefix}.${s}` : s);
  let x = g.input('latent', 'float32', ['batch', spec.latentChannels, 'h', 'w']);
  if (spec.hasQuantConv) x = conv2d(g, file, k('post_quant_conv'), x);
  x = conv2d(g, file, k('decoder.conv_in'), x);
  x = mid(g, file, k('decoder.mid'), x);
  for (let i = spec.levels - 1; i >= 0; i--) {
    for (let j = 0; j <= spec.resBlocks; j++) x = resBlock(g, file, k(`decoder.up.${i}.block.${j}`), x, GN);
    if (file.has(k(`decoder.up.${i}.upsample.conv.weight`))) x = upsample2x(g, file, k(`decoder.up.${i}.upsample.conv`), x);
  }
  x = conv2d(g, file, k('decoder.conv_out'), silu(g, groupNorm(g, file, k('decoder.norm_out'), x, GN)));
  g.output(x, 'decoded', 'float32', ['batch', 3, 'H', 'W']);
  const img = g.op('Clip', [g.op('Div', [g.op('Add', [x, g.scalar(1)]), g.scalar(2)]), g.scalar(0), g.scalar(1)]);
  g.output(g.op('Transpose', [img], { perm: [0, 2, 3, 1] }), 'image', 'float32', ['batch', 'H', 'W', 3]);
  return g;
}

export function buildVaeEncoder(file: WeightSource, spec: VaeSpec, opts: { ep?: Ep } = {}): GraphBuilder {
  const g = new GraphBuilder({ name: `vae_encoder:${file.path}`, ep: opts.ep });
  const k = (s: string) => (spec.prefix ? `${spec.prefix}.${s}` : s);
  if (!file.has(k('encoder.conv_in.weight'))) throw new WeftError(`${file.path}: the VAE has no encoder (decoder-only file?)`, { file: file.path, type: 'model_load_error' });
  const img = g.input('image', 'float32', ['batch', 'H', 'W', 3]);
  let x = g.op('Sub', [g.op('Mul', [g.op('Transpose', [img], { perm: [0, 3, 1, 2] }), g.scalar(2)]), g.scalar(1)]);
  x = conv2d(g, file, k('encoder.conv_in'), x);
  for (let i = 0; i < spec.levels; i++) {
    for (let j = 0; j < spec.resBlocks; j++) x = resBlock(g, file, k(`encoder.down.${i}.block.${j}`), x, GN);
    if (file.has(k(`encoder.down.${i}.downsample.conv.weight`))) x = downsample2x(g, file, k(`encoder.down.${i}.downsample.conv`), x, 'vae');
  }
  x = mid(g, file, k('encoder.mid'), x);
  x = conv2d(g, file, k('encoder.conv_out'), silu(g, groupNorm(g, file, k('encoder.norm_out'), x, GN)));
  if (spec.hasQuantConv) x = conv2d(g, file, k('quant_conv'), x);
  const [mean, logvar] = g.opN('Split', [x, g.constInt64([spec.latentChannels, spec.latentChannels])], 2, { axis: 1 });
  g.output(mean!, 'mean', 'float32', ['batch', spec.latentChannels, 'h', 'w']);
  g.output(g.op('Clip', [logvar!, g.scalar(-30), g.scalar(20)]), 'logvar', 'float32', ['batch', spec.latentChannels, 'h', 'w']);
  return g;
}
