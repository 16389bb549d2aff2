/** The other architectures: VAE, FLUX DiT, LoRA, ESRGAN. */
import type { EsrganConfig, Family, FluxConfig, LoraInfo, TensorSource, VaeConfig } from './types.ts';
import { countIndexed, need, shape, type Shapes } from './util.ts';

export function detectVae(src: TensorSource, prefix: string, family: Family): VaeConfig {
  const t = src.tensors;
  const keys = [...t.keys()].filter((k) => k.startsWith(prefix));
  const diffusers = t.has(`${prefix}decoder.up_blocks.0.resnets.0.conv1.weight`);
  const convIn = need(src, `${prefix}decoder.conv_in.weight`);
  const latentChannels = convIn[1]!;
  const ch = need(src, `${prefix}decoder.conv_out.weight`)[1]!;
  const chMult: number[] = [];
  let numResBlocks = 0;
  if (diffusers) {
    const n = countIndexed(keys, `${prefix}encoder.down_blocks.`);
    for (let i = 0; i < n; i++) chMult.push(need(src, `${prefix}encoder.down_blocks.${i}.resnets.0.conv1.weight`)[0]! / ch);
    numResBlocks = countIndexed(keys, `${prefix}decoder.up_blocks.0.resnets.`) - 1;
  } else {
    const n = countIndexed(keys, `${prefix}decoder.up.`);
    for (let i = 0; i < n; i++) chMult.push(need(src, `${prefix}decoder.up.${i}.block.0.conv2.weight`)[0]! / ch);
    numResBlocks = countIndexed(keys, `${prefix}decoder.up.0.block.`) - 1;
  }
  const q = shape(t, diffusers ? `${prefix}decoder.mid_block.attentions.0.to_q.weight` : `${prefix}decoder.mid.attn_1.q.weight`)
    ?? shape(t, `${prefix}decoder.mid_block.attentions.0.query.weight`);
  const scale = family === 'sdxl' || family === 'sdxl_refiner' ? 0.13025 : family === 'flux' ? 0.3611 : 0.18215;
  return {
    prefix, layout: diffusers ? 'diffusers' : 'ldm', ch, chMult, numResBlocks, latentChannels,
    hasQuantConv: t.has(`${prefix}quant_conv.weight`), linearAttention: q?.length === 2,
    hasEncoder: t.has(`${prefix}encoder.conv_in.weight`), scalingFactor: scale, shiftFactor: family === 'flux' ? 0.1159 : 0,
  };
}

export function detectFlux(src: TensorSource, prefix: string, cfg: Record<string, any>): FluxConfig {
  const t = src.tensors;
  const keys = [...t.keys()];
  const imgIn = need(src, `${prefix}img_in.weight`);
  const hiddenSize = imgIn[0]!;
  const headDim = need(src, `${prefix}double_blocks.0.img_attn.norm.key_norm.scale`)[0]!;
  const d = cfg.dit ?? {};
  // BFL's axes are [16, 56, 56] for 128-wide heads: one eighth for the index axis, the rest split between h and w.
  const axesDim: number[] = Array.isArray(d.axes_dim) ? d.axes_dim : [headDim / 8, (headDim * 7) / 16, (headDim * 7) / 16];
  return {
    // img_in sees 2×2 patches, so its input width is 4× the latent channels (16, or 96 for Fill).
    prefix, inChannels: imgIn[1]! / 4, hiddenSize, headDim, numHeads: hiddenSize / headDim,
    depth: countIndexed(keys, `${prefix}double_blocks.`), depthSingle: countIndexed(keys, `${prefix}single_blocks.`),
    mlpRatio: need(src, `${prefix}double_blocks.0.img_mlp.0.weight`)[0]! / hiddenSize,
    vecInDim: need(src, `${prefix}vector_in.in_layer.weight`)[1]!, contextInDim: need(src, `${prefix}txt_in.weight`)[1]!,
    axesDim, qkvBias: t.has(`${prefix}double_blocks.0.img_attn.qkv.bias`), guidanceEmbed: t.has(`${prefix}guidance_in.in_layer.weight`),
  };
}


export function detectLora(t: Shapes): LoraInfo | null {
  let unet = 0, te = 0, te1 = 0, te2 = 0, rank = 0;
  const kinds = new Set<string>();
  let format: LoraInfo['format'] = 'unknown';
  for (const [k, v] of t) {
    let m: RegExpMatchArray | null;
    if ((m = k.match(/\.(lora_down|lora_A|lora\.down|lora_linear_layer\.down)\.weight$/))) {
      rank = rank || v.shape[0]!;
      kinds.add('lora');
    } else if (/\.hada_w1_a$/.test(k)) kinds.add('loha');
    else if (/\.lokr_w1(_a)?$/.test(k)) kinds.add('lokr');
    else continue;
    if (k.startsWith('lora_unet_')) { unet++; format = 'kohya'; } else if (k.startsWith('lora_te1_')) { te1++; format = 'kohya'; } else if (k.startsWith('lora_te2_')) { te2++; format = 'kohya'; } else if (k.startsWith('lora_te_')) { te++; format = 'kohya'; } else if (k.startsWith('unet.') || k.startsWith('text_encoder')) { format = 'diffusers'; if (k.startsWith('unet.')) unet++; else te++; } else if (m && m[1] === 'lora_A') { format = format === 'unknown' ? 'peft' : format; unet++; } else unet++;
  }
  if (kinds.size === 0) return null;
  return { format, rank, targets: { unet, te, te1, te2 }, kinds: [...kinds] };
}

export function detectEsrgan(src: TensorSource): EsrganConfig | null {
  const t = src.tensors;
  // Real-ESRGAN names (conv_first/body/conv_up1) and the original ESRGAN names (model.0 / model.1.sub) both exist.
  if (t.has('conv_first.weight') && t.has('body.0.rdb1.conv1.weight')) {
    const first = need(src, 'conv_first.weight');
    const ups = ['conv_up1.weight', 'conv_up2.weight', 'conv_up3.weight'].filter((k) => t.has(k)).length;
    const inCh = first[1]!;
    // x2/x1 Real-ESRGAN use pixel-unshuffle, which multiplies the input channels by 4 or 16.
    const scale = inCh === 3 * 16 ? 1 : inCh === 3 * 4 ? 2 : 2 ** ups;
    return {
      arch: 'rrdbnet', inChannels: inCh, outChannels: need(src, 'conv_last.weight')[0]!, numFeat: first[0]!,
      numBlocks: countIndexed(t.keys(), 'body.'), growth: need(src, 'body.0.rdb1.conv1.weight')[0]!, scale,
    };
  }
  if (t.has('model.0.weight') && t.has('model.1.sub.0.RDB1.conv1.0.weight')) {
    const first = need(src, 'model.0.weight');
    const ups = [...t.keys()].filter((k) => /^model\.\d+\.weight$/.test(k)).length - 3;
    return {
      arch: 'rrdbnet', inChannels: first[1]!, outChannels: 3, numFeat: first[0]!,
      numBlocks: countIndexed(t.keys(), 'model.1.sub.') - 1, growth: need(src, 'model.1.sub.0.RDB1.conv1.0.weight')[0]!, scale: 2 ** Math.max(ups, 0),
    };
  }
  return null;
}
