/**
 * A models folder for a real workflow: every model file the API prompt names is written as a tiny generated
 * stand-in under that exact name in the folder ComfyUI would look in, and every image it loads is put in
 * the input folder (the shared example image, downscaled, or a generated picture when it is absent).
 *
 * The family of a checkpoint is read from its name, as a user would guess it: "xl" → SDXL, "v2"/"768"/
 * "512-inpainting" → SD2, else SD1; "inpaint" → 9-channel UNet. A LoRA, ControlNet (one named "union" is a
 * ControlNet Union), hypernetwork or GLIGEN file is made for the family of the workflow's first checkpoint so
 * its keys match. GLIGEN's head rule needs 64-wide transformer blocks, so every checkpoint of a workflow with
 * a GLIGENLoader gets 64 model channels: such a workflow needs a models folder of its own when another one
 * names the same checkpoint (writing one name two ways throws). FLUX files (a diffusion model named "flux…",
 * DualCLIPLoader type flux's clip_l + t5xxl, an "ae." VAE) get the tiny FLUX set of engine/models/flux-sd,
 * plus the shared T5 tokenizer in models/text_encoders/t5/; a LoRA in a FLUX workflow is made for its DiT.
 * Files no tiny generator exists for (other standalone diffusion models and text encoders) are reported in
 * `unsupported` instead. IP-Adapter and CLIP vision stand-ins come from tiny-adapters.ts, hypernetworks and
 * FLUX LoRAs from tiny-addons.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { writeSafetensors, type TensorToWrite } from '../../../engine/io/safetensors.ts';
import { fixtureShape, Rng, sdCheckpointTensors, TensorSink, writeControlNet, writeLora, writeSdCheckpoint, writeUnionControlNet, type SdFixtureOptions } from '../../../engine/models/fixtures/index.ts';
import { writeTinyGligen } from '../../../engine/models/fixtures/gligen.ts';
import { writeTinyFullClip } from '../../../engine/models/clip-vision/synthetic.ts';
import { isLink, type ApiPrompt } from '../../../engine/workflow/index.ts';
import { writeTinyClipL, writeTinyFluxAe, writeTinyFluxDit, writeTinyT5 } from '../../../engine/models/flux-sd/synthetic.ts';
import { writeTinyClipVision, writeTinyIpAdapter } from './tiny-adapters.ts';
import { writeTinyFluxLora, writeTinyHypernetwork } from './tiny-addons.ts';

export const SHARED_EXAMPLES = path.resolve(import.meta.dirname, '../../../../shared/comfy-examples');
const SHARED_IMAGES = path.join(SHARED_EXAMPLES, 'images');
/** Test data only: the product never ships a T5 tokenizer, the user's models folder holds it. */
const SHARED_T5_TOKENIZER = path.resolve(import.meta.dirname, '../../../../shared/tokenizers/t5/tokenizer.json');

/** The VAE every stand-in uses: the real 8× scale, widths GroupNorm can split (see test/e2e/helpers.ts). */
const VAE = { vaeCh: 32, vaeChMult: [1, 1, 1, 1] };

/** Longest side of the input images written for a workflow (px, a multiple of 8). */
export const INPUT_SIDE = 64;

export interface TinyModels {
  /** Written files: models-relative or input-relative path → what it stands in for. */
  written: Record<string, string>;
  /** Model files no stand-in can be made for, with the reason. */
  unsupported: string[];
}

/** What each written file stands in for, by absolute path: a second, different use of one name is an error. */
const made = new Map<string, string>();

function hashSeed(s: string): number {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h % 100000;
}

/** The fixture a checkpoint name stands for. */
export function checkpointOptions(name: string): SdFixtureOptions {
  const n = name.toLowerCase();
  const family = /xl/.test(n) ? 'sdxl' : /(^|[^a-z0-9])v2|768|sd2|512-inpainting/.test(n) ? 'sd2' : 'sd1';
  const inpaint = /inpaint/.test(n);
  // SD2 inpainting (512-inpainting-ema) is an eps model; the 768 ones are v-prediction.
  const vPrediction = family === 'sd2' ? /768|v-pred|vpred/.test(n) : undefined;
  return { family, ...(inpaint ? { inpaint } : {}), ...(vPrediction !== undefined ? { vPrediction } : {}), seed: hashSeed(name), ...VAE, vaeChMult: [...VAE.vaeChMult] };
}

/** Scale of an upscaler stand-in, from the name (RealESRGAN_x2, 4x-UltraSharp, …); 4 when it says nothing. */
export function upscalerScale(name: string): number {
  const m = /(?:^|[^a-z0-9])x([1248])(?![0-9])|([1248])x(?![0-9])/i.exec(name);
  return m ? Number(m[1] ?? m[2]) : 4;
}

/** Real-ESRGAN RRDBNet: two upsample convs; ×2/×1 models pixel-unshuffle the input first (conv_first sees 4×/16× channels). */
function writeUpscaler(file: string, scale: number): void {
  const s = new TensorSink(new Rng(hashSeed(file)), 'F32');
  const nf = 16;
  const gc = 8;
  const shuffle = 4 / scale;
  s.conv('conv_first', nf, 3 * shuffle * shuffle, 3);
  for (const rdb of ['rdb1', 'rdb2', 'rdb3']) {
    for (let c = 1; c <= 5; c++) s.conv(`body.0.${rdb}.conv${c}`, c === 5 ? nf : gc, nf + (c - 1) * gc, 3);
  }
  for (const n of ['conv_body', 'conv_up1', 'conv_up2', 'conv_hr']) s.conv(n, nf, nf, 3);
  s.conv('conv_last', 3, nf, 3);
  writeSafetensors(file, s.out);
}

/** A standalone VAE file: the checkpoint fixture's first_stage_model without its prefix. */
function writeVae(file: string, family: 'sd1' | 'sdxl'): void {
  const { tensors } = sdCheckpointTensors({ family, seed: hashSeed(file), ...VAE, vaeChMult: [...VAE.vaeChMult] });
  const out: Record<string, TensorToWrite> = {};
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith('first_stage_model.')) out[k.slice('first_stage_model.'.length)] = t;
  writeSafetensors(file, out);
}

/** A two-vector textual-inversion embedding for every text encoder of a family. */
function writeEmbedding(file: string, base: SdFixtureOptions): void {
  const d = fixtureShape(base);
  const rng = new Rng(hashSeed(file));
  const t = (w: number): TensorToWrite => ({ dtype: 'F32', shape: [2, w], data: rng.fill(2 * w, 0.02) });
  writeSafetensors(file, base.family === 'sdxl' ? { clip_l: t(d.text), clip_g: t(d.textG) } : { emb_params: t(d.text) });
}

/** `embedding:name` words in a prompt text (the name ends at whitespace, a comma or a bracket). */
export function embeddingNames(text: string): string[] {
  return [...text.matchAll(/embedding:([^\s,()[\]]+)/g)].map((m) => m[1]!);
}

/** A deterministic colourful picture (gradients and a disc), with a transparent hole when `alphaHole`. */
async function generatedImage(w: number, h: number, alphaHole: boolean): Promise<Buffer> {
  const px = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      const inDisc = (x - w / 2) ** 2 + (y - h / 2) ** 2 < (Math.min(w, h) / 4) ** 2;
      px[i] = Math.round((255 * x) / w);
      px[i + 1] = Math.round((255 * y) / h);
      px[i + 2] = inDisc ? 230 : 60;
      px[i + 3] = alphaHole && inDisc ? 0 : 255;
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer();
}

/** Size of an image resized so its longest side is `side`, both sides multiples of 8. */
export function fitSize(w: number, h: number, side = INPUT_SIDE): [number, number] {
  const k = side / Math.max(w, h);
  return [Math.max(8, Math.round((w * k) / 8) * 8), Math.max(8, Math.round((h * k) / 8) * 8)];
}

async function writeInputImage(file: string, name: string): Promise<string> {
  const shared = path.join(SHARED_IMAGES, path.basename(name));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (fs.existsSync(shared)) {
    const meta = await sharp(shared).metadata();
    const [w, h] = fitSize(meta.width!, meta.height!);
    // fill, not cover: every pixel of the original stays in the picture, alpha (the inpaint mask) included.
    await sharp(shared).resize(w, h, { fit: 'fill' }).png().toFile(file);
    return `${path.basename(shared)} downscaled to ${w}×${h}`;
  }
  fs.writeFileSync(file, await generatedImage(INPUT_SIDE, INPUT_SIDE, /mask|inpaint|alpha/i.test(name)));
  return `generated ${INPUT_SIDE}×${INPUT_SIDE} picture`;
}

/** Writes stand-ins for every model and input image `prompt` names under `base` (models/…, input/). */
export async function makeTinyModels(base: string, prompt: ApiPrompt): Promise<TinyModels> {
  const written: Record<string, string> = {};
  const unsupported: string[] = [];
  const nodes = Object.values(prompt);
  const put = (folder: string, name: string, what: string, write: (file: string) => void): void => {
    const rel = path.posix.join(folder, name.replace(/\\/g, '/'));
    if (written[rel]) return;
    const file = path.join(base, 'models', rel);
    written[rel] = what;
    if (made.has(file) && made.get(file) !== what) throw new Error(`${rel} is already a ${made.get(file)} in this models folder, not a ${what}: use another runner`);
    made.set(file, what);
    // Several workflows may share one models folder (and its loaded sessions): a name is written once.
    if (fs.existsSync(file)) return;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    write(file);
  };
  const str = (v: unknown): string | null => (typeof v === 'string' && !isLink(v) ? v : null);
  const wide = nodes.some((n) => n.class_type === 'GLIGENLoader');
  const ckptOptions = (name: string): SdFixtureOptions => ({ ...checkpointOptions(name), ...(wide ? { modelChannels: 64 } : {}) });
  const firstCkpt = nodes.map((n) => str(n.inputs.ckpt_name)).find((v) => v);
  const baseModel = ckptOptions(firstCkpt ?? 'v1-5');
  const family = `${baseModel.family}${wide ? ' (64-channel)' : ''}`;
  const fluxUnet = nodes.map((n) => str(n.inputs.unet_name)).find((v): v is string => !!v && /flux/i.test(v));
  // FLUX by name (dev has guidance_in, schnell not).
  const putFluxDit = (unet: string) =>
    put('diffusion_models', unet, `tiny FLUX ${/schnell/i.test(unet) ? 'schnell' : 'dev'} DiT`, (f) => writeTinyFluxDit(f, { guidance: !/schnell/i.test(unet), seed: hashSeed(unet) }));

  for (const node of nodes) {
    const inp = node.inputs;
    const ckpt = str(inp.ckpt_name);
    if (ckpt) {
      const o = ckptOptions(ckpt);
      put('checkpoints', ckpt, `tiny ${o.family}${o.inpaint ? ' inpaint' : ''}${o.vPrediction ? ' v-prediction' : ''}${wide ? ' 64-channel' : ''} checkpoint`, (f) => writeSdCheckpoint(f, o));
    }
    const lora = str(inp.lora_name);
    if (lora && fluxUnet) {
      putFluxDit(fluxUnet);
      put('loras', lora, `tiny FLUX LoRA for ${fluxUnet}`, (f) => writeTinyFluxLora(f, path.join(base, 'models', 'diffusion_models', fluxUnet), hashSeed(lora)));
    } else if (lora) put('loras', lora, `tiny LoRA for ${family}`, (f) => writeLora(f, baseModel, { seed: hashSeed(lora) }));
    const hn = str(inp.hypernetwork_name);
    if (hn) put('hypernetworks', hn, `tiny hypernetwork for ${family}`, (f) => writeTinyHypernetwork(f, baseModel, hashSeed(hn)));
    const gligen = node.class_type === 'GLIGENLoader' ? str(inp.gligen_name) : null;
    if (gligen) put('gligen', gligen, `tiny GLIGEN for ${family}`, (f) => writeTinyGligen(f, baseModel, { hidden: 64, seed: hashSeed(gligen) }));
    const vae = str(inp.vae_name);
    if (vae && vae !== 'pixel_space' && !/^tae/.test(vae)) {
      if (/^ae\.|flux/i.test(vae)) put('vae', vae, 'tiny FLUX AE (16 channels)', (f) => writeTinyFluxAe(f, hashSeed(vae)));
      else put('vae', vae, 'tiny VAE', (f) => writeVae(f, /xl/i.test(vae) ? 'sdxl' : 'sd1'));
    }
    const model = str(inp.model_name);
    if (model && node.class_type === 'UpscaleModelLoader') {
      put('upscale_models', model, `tiny Real-ESRGAN ×${upscalerScale(model)}`, (f) => writeUpscaler(f, upscalerScale(model)));
    }
    const cn = str(inp.control_net_name);
    if (cn && /union/i.test(cn)) put('controlnet', cn, `tiny ControlNet Union for ${family}`, (f) => writeUnionControlNet(f, baseModel, { seed: hashSeed(cn) }));
    else if (cn) put('controlnet', cn, `tiny ControlNet for ${family}`, (f) => writeControlNet(f, baseModel, { seed: hashSeed(cn) }));
    // IP-Adapter for the first checkpoint's cross-attention layers, with the CLIP vision tower it reads.
    const ip = node.class_type === 'IPAdapterModelLoader' ? str(inp.ipadapter_file) : null;
    if (ip) put('ipadapter', ip, `tiny IP-Adapter for ${family}`, (f) => writeTinyIpAdapter(f, baseModel, hashSeed(ip)));
    const cv = node.class_type === 'CLIPVisionLoader' ? str(inp.clip_name) : null;
    if (cv) put('clip_vision', cv, 'tiny CLIP vision tower', (f) => writeTinyClipVision(f));
    const unet = str(inp.unet_name);
    // Other standalone diffusion models have no stand-in yet.
    if (unet && /flux/i.test(unet)) putFluxDit(unet);
    else if (unet) unsupported.push(`diffusion model "${unet}" (${node.class_type}): no tiny stand-in for standalone diffusion models`);
    if (node.class_type === 'DualCLIPLoader' && str(inp.type) === 'flux') {
      for (const n of [str(inp.clip_name1), str(inp.clip_name2)]) {
        if (!n) continue;
        if (/t5/i.test(n)) put('text_encoders', n, 'tiny T5 v1.1 encoder', (f) => writeTinyT5(f));
        else put('text_encoders', n, 'tiny CLIP-L text tower', (f) => writeTinyClipL(f, hashSeed(n)));
      }
      if (fs.existsSync(SHARED_T5_TOKENIZER)) put('text_encoders', 't5/tokenizer.json', 'T5 v1.1 tokenizer (shared test data)', (f) => fs.copyFileSync(SHARED_T5_TOKENIZER, f));
      else unsupported.push(`T5 tokenizer: ${SHARED_T5_TOKENIZER} not found (a clone without ../shared)`);
    }
    const fullClip = node.class_type === 'WeftCLIPInterrogate' ? str(inp.clip_name) : null;
    if (fullClip) put('clip', fullClip, 'tiny full CLIP (text + vision towers)', (f) => writeTinyFullClip(f, { vision: { width: 32, layers: 2, patch: 4, imageSize: 16 } }));
    for (const k of Object.keys(inp).filter((k) => /^clip_name\d*$/.test(k))) {
      const v = str(inp[k]);
      if (fullClip || cv || (node.class_type === 'DualCLIPLoader' && str(inp.type) === 'flux')) continue;
      if (v) unsupported.push(`${node.class_type === 'CLIPVisionLoader' ? 'CLIP vision model' : 'text encoder'} "${v}" (${node.class_type}): no tiny stand-in`);
    }
    for (const v of Object.values(inp)) {
      const text = str(v);
      if (!text) continue;
      // A bare name is looked up with .safetensors/.pt/.bin appended; the folder lists only those extensions.
      for (const e of embeddingNames(text)) put('embeddings', /\.(safetensors|pt|bin)$/i.test(e) ? e : `${e}.safetensors`, `tiny ${family} embedding`, (f) => writeEmbedding(f, baseModel));
    }
    const image = str(inp.image);
    if (image && /^LoadImage/.test(node.class_type)) {
      const name = image.replace(/\s*\[input\]$/, '');
      const rel = path.posix.join('input', name);
      if (!written[rel]) written[rel] = await writeInputImage(path.join(base, 'input', name), name);
    }
  }
  return { written, unsupported: [...new Set(unsupported)] };
}
