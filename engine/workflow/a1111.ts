import type { ApiPrompt } from './api.ts';
import { parseJson } from './json.ts';

/** A1111 sampler names → ComfyUI sampler (+ scheduler implied by a suffix like "Karras"). */
const SAMPLERS: Record<string, string> = {
  'euler a': 'euler_ancestral', euler: 'euler', lms: 'lms', heun: 'heun', dpm2: 'dpm_2', 'dpm2 a': 'dpm_2_ancestral',
  'dpm++ 2s a': 'dpmpp_2s_ancestral', 'dpm++ 2m': 'dpmpp_2m', 'dpm++ sde': 'dpmpp_sde', 'dpm++ 2m sde': 'dpmpp_2m_sde',
  'dpm++ 2m sde heun': 'dpmpp_2m_sde', 'dpm++ 3m sde': 'dpmpp_3m_sde', 'dpm fast': 'dpm_fast', 'dpm adaptive': 'dpm_adaptive',
  ddim: 'ddim', plms: 'euler', unipc: 'uni_pc', lcm: 'lcm', ddpm: 'ddpm', 'restart': 'euler', 'heunpp2': 'heunpp2',
};
const SCHEDULERS: Record<string, string> = {
  karras: 'karras', exponential: 'exponential', 'sgm uniform': 'sgm_uniform', simple: 'simple', normal: 'normal',
  beta: 'beta', uniform: 'normal', automatic: 'normal', 'align your steps': 'normal', 'kl optimal': 'kl_optimal', 'ddim': 'ddim_uniform',
};

export interface A1111Params {
  positive: string;
  negative: string;
  settings: Record<string, string>;
}

/** Splits A1111 "parameters" text: prompt lines, "Negative prompt:" lines, then the "Steps: …" settings line. */
export function parseA1111(text: string): A1111Params | undefined {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const last = lines.findLastIndex((l) => /^\s*Steps:\s*\d+/.test(l));
  if (last < 0) return undefined;
  const settings: Record<string, string> = {};
  const re = /\s*([\w][\w \-/+.]*?):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)/g;
  for (const m of lines.slice(last).join('\n').matchAll(re)) {
    const v = m[2]!.trim();
    settings[m[1]!.trim()] = v.startsWith('"') ? v.slice(1, -1) : v;
  }
  const body = lines.slice(0, last);
  const neg = body.findIndex((l) => l.startsWith('Negative prompt:'));
  const positive = (neg < 0 ? body : body.slice(0, neg)).join('\n').trim();
  const negative = neg < 0 ? '' : body.slice(neg).join('\n').replace(/^Negative prompt:\s?/, '').trim();
  return { positive, negative, settings };
}

function samplerOf(name: string | undefined, schedule: string | undefined): [string, string] {
  let s = (name ?? 'Euler a').trim().toLowerCase();
  let sched = schedule?.trim().toLowerCase();
  for (const suffix of Object.keys(SCHEDULERS)) {
    if (s.endsWith(' ' + suffix) && SAMPLERS[s.slice(0, -suffix.length - 1)]) {
      sched ??= suffix;
      s = s.slice(0, -suffix.length - 1);
      break;
    }
  }
  return [SAMPLERS[s] ?? 'euler', SCHEDULERS[sched ?? 'normal'] ?? 'normal'];
}

function num(v: string | undefined, d: number): number | bigint {
  if (v === undefined || v.trim() === '') return d;
  const parsed = parseJson(v.trim());
  return typeof parsed === 'number' || typeof parsed === 'bigint' ? parsed : d;
}

/**
 * An API graph equivalent to A1111 parameters: checkpoint, optional CLIPSetLastLayer (Clip skip),
 * LoRA loaders for <lora:name:w> tags, positive/negative CLIPTextEncode, EmptyLatentImage, KSampler,
 * VAEDecode, SaveImage.
 */
export function a1111ToApi(text: string): ApiPrompt | undefined {
  const p = parseA1111(text);
  if (!p) return undefined;
  const s = p.settings;
  const [w, h] = (s.Size ?? '512x512').split('x').map((x) => Number(x));
  const [sampler, scheduler] = samplerOf(s.Sampler, s['Schedule type']);
  const ckpt = s.Model ? (/\.(safetensors|ckpt|pt|sft)$/i.test(s.Model) ? s.Model : `${s.Model}.safetensors`) : 'model.safetensors';
  const prompt: ApiPrompt = {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt }, _meta: { title: 'Load Checkpoint' } },
  };
  let model: [string, number] = ['4', 0];
  let clip: [string, number] = ['4', 1];
  const loras: [string, number][] = [];
  const strip = (t: string) => t.replace(/<lora:([^:>]+):([^:>]+)(?::[^>]*)?>/g, (_m, name: string, wt: string) => {
    loras.push([name, Number(wt)]);
    return '';
  });
  const positive = strip(p.positive);
  const negative = strip(p.negative);
  let next = 10;
  const skip = Number(s['Clip skip'] ?? 1);
  if (skip > 1) {
    const id = String(next++);
    prompt[id] = { class_type: 'CLIPSetLastLayer', inputs: { stop_at_clip_layer: -skip, clip }, _meta: { title: 'CLIP Set Last Layer' } };
    clip = [id, 0];
  }
  for (const [name, wt] of loras) {
    const id = String(next++);
    const file = /\.(safetensors|pt|ckpt)$/i.test(name) ? name : `${name}.safetensors`;
    prompt[id] = { class_type: 'LoraLoader', inputs: { lora_name: file, strength_model: wt, strength_clip: wt, model, clip }, _meta: { title: 'Load LoRA' } };
    model = [id, 0];
    clip = [id, 1];
  }
  prompt['6'] = { class_type: 'CLIPTextEncode', inputs: { text: positive, clip }, _meta: { title: 'Positive' } };
  prompt['7'] = { class_type: 'CLIPTextEncode', inputs: { text: negative, clip }, _meta: { title: 'Negative' } };
  prompt['5'] = { class_type: 'EmptyLatentImage', inputs: { width: w || 512, height: h || 512, batch_size: 1 }, _meta: { title: 'Empty Latent Image' } };
  prompt['3'] = {
    class_type: 'KSampler',
    inputs: {
      seed: num(s.Seed, 0), steps: num(s.Steps, 20), cfg: num(s['CFG scale'], 7), sampler_name: sampler, scheduler,
      denoise: 1, model, positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0],
    },
    _meta: { title: 'KSampler' },
  };
  prompt['8'] = { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] }, _meta: { title: 'VAE Decode' } };
  prompt['9'] = { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] }, _meta: { title: 'Save Image' } };
  return prompt;
}
