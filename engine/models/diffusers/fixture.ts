/**
 * Tiny diffusers folders for tests: an LDM fixture checkpoint's tensors written under diffusers names, so
 * a folder and a single file hold the same numbers. UNet and VAE tensors keep their bytes (renamed, the
 * VAE attention squeezed to Linear [C, C]); CLIP-L is the same HF layout under `text_model.`; the SDXL
 * bigG tower goes from OpenCLIP to HF layout as diffusers stores it (fused in_proj split by rows, the
 * text_projection matrix transposed into a Linear weight).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../io/safetensors.ts';
import { keyRenamer, layoutFromLdm, modulePairs } from './unet-keys.ts';
import { diffusersVaeKey } from './vae-keys.ts';

type Tensors = Record<string, TensorToWrite>;

export interface DiffusersFixtureOptions {
  family: 'sd1' | 'sd2' | 'sdxl';
  /** Write `*.fp16.safetensors` names (the tensors keep their own dtype). */
  fp16Names?: boolean;
  /** VAE attention under the legacy query/key/value/proj_attn names. */
  legacyVaeAttention?: boolean;
  prediction?: 'epsilon' | 'v_prediction';
  /** unet/config.json head fields, as diffusers writes them for this family. */
  unetConfig: Record<string, unknown>;
  /** text_encoder / text_encoder_2 config.json (hidden_act, num_attention_heads). */
  textConfig?: Record<string, unknown>;
  textConfig2?: Record<string, unknown>;
}

function take(all: Tensors, prefix: string, rename: (k: string) => string | null): Tensors {
  const out: Tensors = {};
  for (const [k, t] of Object.entries(all)) {
    if (!k.startsWith(prefix)) continue;
    const n = rename(k.slice(prefix.length));
    if (n === null) throw new Error(`fixture: no diffusers name for ${k}`);
    out[n] = t;
  }
  return out;
}

function rows(t: TensorToWrite, a: number, b: number): TensorToWrite {
  const per = t.shape.slice(1).reduce((x, y) => x * y, 1);
  const data = t.data as Float32Array | Uint16Array;
  return { dtype: t.dtype, shape: [b - a, ...t.shape.slice(1)], data: data.subarray(a * per, b * per) };
}

/** OpenCLIP text tower (LDM `…model.` prefix) → transformers CLIPTextModelWithProjection keys. */
function openClipToHf(all: Tensors, prefix: string): Tensors {
  const out: Tensors = {};
  for (const [k, t] of Object.entries(all)) {
    if (!k.startsWith(prefix)) continue;
    const r = k.slice(prefix.length);
    let m = /^transformer\.resblocks\.(\d+)\.(.+)$/.exec(r);
    if (m) {
      const p = `text_model.encoder.layers.${m[1]}`;
      const fused = /^attn\.in_proj_(weight|bias)$/.exec(m[2]!);
      if (fused) {
        const w = t.shape[0]! / 3;
        ['q', 'k', 'v'].forEach((n, i) => { out[`${p}.self_attn.${n}_proj.${fused[1]}`] = rows(t, i * w, (i + 1) * w); });
        continue;
      }
      const sub: Record<string, string> = { 'attn.out_proj': 'self_attn.out_proj', ln_1: 'layer_norm1', ln_2: 'layer_norm2', 'mlp.c_fc': 'mlp.fc1', 'mlp.c_proj': 'mlp.fc2' };
      m = /^(.+)\.(weight|bias)$/.exec(m[2]!);
      if (!m || !sub[m[1]!]) throw new Error(`fixture: unknown OpenCLIP key ${k}`);
      out[`${p}.${sub[m[1]!]}.${m[2]}`] = t;
    } else if (r === 'token_embedding.weight') out['text_model.embeddings.token_embedding.weight'] = t;
    else if (r === 'positional_embedding') out['text_model.embeddings.position_embedding.weight'] = t;
    else if (r.startsWith('ln_final.')) out[`text_model.final_layer_norm.${r.slice('ln_final.'.length)}`] = t;
    else if (r === 'text_projection') {
      // x @ P (OpenCLIP) is Linear(x) with weight Pᵀ (transformers).
      const [a, b] = t.shape as [number, number];
      const src = t.data as Float32Array | Uint16Array;
      const dst = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(a * b);
      for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) dst[j * a + i] = src[i * b + j]!;
      out['text_projection.weight'] = { dtype: t.dtype, shape: [b, a], data: dst };
    } else if (r !== 'logit_scale') throw new Error(`fixture: unknown OpenCLIP key ${k}`);
  }
  return out;
}

const LEGACY: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };

/** Writes `dir` as a diffusers pipeline folder holding the LDM checkpoint tensors `all`. */
export function writeDiffusersFolder(dir: string, all: Tensors, o: DiffusersFixtureOptions): void {
  const w = (sub: string, name: string, tensors: Tensors, config?: Record<string, unknown>): void => {
    mkdirSync(path.join(dir, sub), { recursive: true });
    writeSafetensors(path.join(dir, sub, o.fp16Names ? name.replace('.safetensors', '.fp16.safetensors') : name), tensors);
    if (config) writeFileSync(path.join(dir, sub, 'config.json'), JSON.stringify(config));
  };
  const xl = o.family === 'sdxl';
  const unetKeys = Object.keys(all).filter((k) => k.startsWith('model.diffusion_model.')).map((k) => k.slice('model.diffusion_model.'.length));
  w('unet', 'diffusion_pytorch_model.safetensors', take(all, 'model.diffusion_model.', keyRenamer(modulePairs(layoutFromLdm(unetKeys)), true)), { _class_name: 'UNet2DConditionModel', ...o.unetConfig });

  let levels = 0;
  while (Object.keys(all).some((k) => k.startsWith(`first_stage_model.decoder.up.${levels}.`))) levels++;
  const vae = take(all, 'first_stage_model.', (k) => {
    const d = diffusersVaeKey(k, levels);
    return d && o.legacyVaeAttention ? d.replace(/\.attentions\.0\.(to_q|to_k|to_v|to_out\.0)\./, (_s, n: string) => `.attentions.0.${LEGACY[n]}.`) : d;
  });
  for (const [k, t] of Object.entries(vae)) {
    // diffusers stores the mid-block attention projections as Linear [C, C]: the same bytes, squeezed.
    if (/\.attentions\.0\.(to_q|to_k|to_v|to_out\.0|query|key|value|proj_attn)\.weight$/.test(k)) vae[k] = { ...t, shape: t.shape.slice(0, 2) };
  }
  w('vae', 'diffusion_pytorch_model.safetensors', vae, { _class_name: 'AutoencoderKL' });

  const clipL = xl ? 'conditioner.embedders.0.transformer.' : 'cond_stage_model.transformer.';
  if (o.family === 'sd2') w('text_encoder', 'model.safetensors', openClipToHf(all, 'cond_stage_model.model.'), o.textConfig);
  else w('text_encoder', 'model.safetensors', take(all, clipL, (k) => k), o.textConfig);
  if (xl) w('text_encoder_2', 'model.safetensors', openClipToHf(all, 'conditioner.embedders.1.model.'), o.textConfig2);

  mkdirSync(path.join(dir, 'scheduler'), { recursive: true });
  writeFileSync(path.join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'EulerDiscreteScheduler', prediction_type: o.prediction ?? 'epsilon' }));
  const index: Record<string, unknown> = {
    _class_name: xl ? 'StableDiffusionXLPipeline' : 'StableDiffusionPipeline',
    unet: ['diffusers', 'UNet2DConditionModel'], vae: ['diffusers', 'AutoencoderKL'], scheduler: ['diffusers', 'EulerDiscreteScheduler'],
    text_encoder: ['transformers', 'CLIPTextModel'], tokenizer: ['transformers', 'CLIPTokenizer'],
    ...(xl ? { text_encoder_2: ['transformers', 'CLIPTextModelWithProjection'], tokenizer_2: ['transformers', 'CLIPTokenizer'] } : {}),
  };
  writeFileSync(path.join(dir, 'model_index.json'), JSON.stringify(index));
}
