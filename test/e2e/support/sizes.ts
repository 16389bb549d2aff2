/**
 * What size the images of a prompt should come out, worked out from the graph alone (node inputs, input
 * files, upscaler names): an independent expectation to compare with what the engine wrote.
 * Only the node types the example workflows use have a rule; anything else throws, so a test never
 * silently checks less than it claims.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isLink, type ApiPrompt } from '../../../engine/workflow/index.ts';
import { upscalerScale } from './tiny-models.ts';

export type Size = [width: number, height: number];

/** Width and height of a PNG, from its IHDR chunk. */
export function pngSize(bytes: Uint8Array): Size {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(12) !== 0x49484452) throw new Error('not a PNG (no IHDR first)');
  return [v.getUint32(16), v.getUint32(20)];
}

const PASS_LATENT: Record<string, string> = {
  KSampler: 'latent_image', KSamplerAdvanced: 'latent_image', SamplerCustom: 'latent_image', SamplerCustomAdvanced: 'latent_image',
  SetLatentNoiseMask: 'samples', VAEDecode: 'samples', VAEDecodeTiled: 'samples', RepeatLatentBatch: 'samples', LatentFromBatch: 'samples',
  LatentComposite: 'samples_to', LatentCompositeMasked: 'destination', LatentBlend: 'samples1',
  ImageSharpen: 'image', ImageBlur: 'image', ImageInvert: 'image', ImageCompositeMasked: 'destination', Canny: 'image',
};
const FLOOR8 = new Set(['VAEEncode', 'VAEEncodeTiled', 'VAEEncodeForInpaint', 'InpaintModelConditioning']);

/** Sizes are in pixels for latents too (latent size × 8). */
export function expectedSize(prompt: ApiPrompt, id: string, inputDir: string, slot = 0): Size {
  const node = prompt[id];
  if (!node) throw new Error(`no node ${id}`);
  const inp = node.inputs;
  const from = (name: string): Size => {
    const l = inp[name];
    if (!isLink(l)) throw new Error(`${node.class_type} ${id}: input ${name} is not linked`);
    return expectedSize(prompt, l[0], inputDir, Number(l[1]));
  };
  const num = (name: string): number => Number(inp[name]);
  const keepAspect = (w: number, h: number, [sw, sh]: Size): Size =>
    w === 0 && h === 0 ? [sw, sh] : w === 0 ? [Math.round((sw * h) / sh), h] : h === 0 ? [w, Math.round((sh * w) / sw)] : [w, h];
  const t = node.class_type;
  if (PASS_LATENT[t]) return from(PASS_LATENT[t]);
  if (FLOOR8.has(t)) {
    const [w, h] = from('pixels');
    return [Math.floor(w / 8) * 8, Math.floor(h / 8) * 8];
  }
  switch (t) {
    case 'EmptyLatentImage':
    case 'EmptySD3LatentImage':
      return [Math.floor(num('width') / 8) * 8, Math.floor(num('height') / 8) * 8];
    case 'LatentUpscale': {
      // ComfyUI raises an explicit target side below 64 px to 64.
      if (num('width') === 0 && num('height') === 0) return from('samples');
      const [w, h] = keepAspect(num('width') && Math.max(64, num('width')), num('height') && Math.max(64, num('height')), from('samples'));
      return [Math.floor(Math.max(64, w) / 8) * 8, Math.floor(Math.max(64, h) / 8) * 8];
    }
    case 'LatentUpscaleBy': {
      const [w, h] = from('samples');
      return [Math.round((w / 8) * num('scale_by')) * 8, Math.round((h / 8) * num('scale_by')) * 8];
    }
    case 'ImageScale':
      return keepAspect(num('width'), num('height'), from('image'));
    case 'ImageScaleBy': {
      const [w, h] = from('image');
      return [Math.round(w * num('scale_by')), Math.round(h * num('scale_by'))];
    }
    case 'ImagePadForOutpaint': {
      const [w, h] = from('image');
      return [w + num('left') + num('right'), h + num('top') + num('bottom')];
    }
    case 'ImageUpscaleWithModel': {
      const loader = inp.upscale_model;
      if (!isLink(loader)) throw new Error('ImageUpscaleWithModel without a model link');
      const k = upscalerScale(String(prompt[loader[0]]!.inputs.model_name));
      const [w, h] = from('image');
      return [w * k, h * k];
    }
    case 'LoadImage':
    case 'LoadImageMask': {
      const bytes = fs.readFileSync(path.join(inputDir, String(inp.image).replace(/\s*\[input\]$/, '')));
      return pngSize(bytes);
    }
    default:
      throw new Error(`no size rule for ${t} (node ${id}, output ${slot})`);
  }
}
