/**
 * The explicit speed transform applied to a real workflow's API prompt before it runs on tiny models.
 * What it changes, and nothing else:
 *  - pixel sizes: every size-like input (EmptyLatentImage, LatentUpscale, ImageScale, ConditioningSetArea,
 *    ImagePadForOutpaint, GLIGEN boxes, …) is multiplied by one factor `scale` = maxSide / (largest empty-latent side, or
 *    512 when the graph starts from images), rounded to a multiple of 8 (16 for latent sizes), so ratios
 *    between sizes (hires fix 1.5×, area boxes) survive;
 *  - steps: every `steps` input is capped at maxSteps; KSamplerAdvanced's start/end steps are rescaled
 *    onto the new count so a base→refiner hand-over stays a hand-over;
 *  - batch sizes are capped at 1.
 * Seeds, samplers, schedulers, cfg, denoise, prompts and model names are left as they are.
 */
import type { ApiPrompt } from '../../../engine/workflow/index.ts';

export interface ShrinkOptions {
  /** Longest side of the first-pass latent, in pixels (default 64). */
  maxSide?: number;
  /** Largest step count (default 3). */
  maxSteps?: number;
}

/** Inputs holding pixel lengths, per node type. */
const PIXEL_INPUTS: Record<string, string[]> = {
  EmptyLatentImage: ['width', 'height'],
  EmptySD3LatentImage: ['width', 'height'],
  LatentUpscale: ['width', 'height'],
  ImageScale: ['width', 'height'],
  ConditioningSetArea: ['width', 'height', 'x', 'y'],
  LatentComposite: ['x', 'y', 'feather'],
  LatentCompositeMasked: ['x', 'y'],
  ImageCompositeMasked: ['x', 'y'],
  ImagePadForOutpaint: ['left', 'top', 'right', 'bottom', 'feathering'],
  EmptyImage: ['width', 'height'],
  SolidMask: ['width', 'height'],
  MaskComposite: ['x', 'y'],
  GLIGENTextBoxApply: ['width', 'height', 'x', 'y'],
  ImageCrop: ['width', 'height', 'x', 'y'],
  LatentCrop: ['width', 'height', 'x', 'y'],
  ModelSamplingFlux: ['width', 'height'],
};
const LATENT_SIZE = new Set(['EmptyLatentImage', 'EmptySD3LatentImage']);

/** The size factor shrinkPrompt uses for a prompt. */
export function shrinkScale(prompt: ApiPrompt, maxSide = 64): number {
  let largest = 0;
  for (const n of Object.values(prompt)) {
    if (!LATENT_SIZE.has(n.class_type)) continue;
    for (const k of ['width', 'height']) if (typeof n.inputs[k] === 'number') largest = Math.max(largest, n.inputs[k] as number);
  }
  return Math.min(1, maxSide / (largest || 512));
}

function roundTo(v: number, m: number, min: number): number {
  if (v === 0) return 0;
  return Math.max(min, Math.round(v / m) * m);
}

/** A shrunk deep copy of `prompt` (the input is not modified). */
export function shrinkPrompt(prompt: ApiPrompt, o: ShrinkOptions = {}): ApiPrompt {
  const maxSteps = o.maxSteps ?? 3;
  const scale = shrinkScale(prompt, o.maxSide ?? 64);
  const out = structuredClone(prompt);
  for (const node of Object.values(out)) {
    const inp = node.inputs;
    const latent = LATENT_SIZE.has(node.class_type) || node.class_type === 'LatentUpscale';
    for (const k of PIXEL_INPUTS[node.class_type] ?? []) {
      const v = inp[k];
      if (typeof v !== 'number') continue;
      const isSize = k === 'width' || k === 'height';
      inp[k] = k === 'feathering' ? Math.round(v * scale) : roundTo(v * scale, latent ? 16 : 8, isSize ? (latent ? 16 : 8) : 0);
    }
    if (typeof inp.batch_size === 'number') inp.batch_size = Math.min(inp.batch_size, 1);
    const steps = inp.steps;
    if (typeof steps !== 'number' || steps <= maxSteps) continue;
    inp.steps = maxSteps;
    if (node.class_type === 'KSamplerAdvanced') {
      const rescale = (s: unknown) => (typeof s === 'number' && s < steps ? Math.round((s * maxSteps) / steps) : s);
      inp.start_at_step = rescale(inp.start_at_step);
      inp.end_at_step = rescale(inp.end_at_step);
    }
  }
  return out;
}
