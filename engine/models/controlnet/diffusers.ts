/**
 * diffusers-format ControlNets (ControlNetModel: `diffusion_pytorch_model.safetensors` beside a config.json, or
 * the same tensors in a single renamed file, which is how most SDXL ControlNets ship) read in place under the
 * LDM `control_model.*` names the ControlNet builder reads. A diffusers ControlNet is the UNet's encoder under
 * UNet2DConditionModel names (renamed through the UNet key map, `add_embedding` → `label_emb` included) plus
 * three ControlNet-only parts, renamed as ComfyUI's load_controlnet does:
 *   controlnet_cond_embedding.conv_in / blocks.N / conv_out → input_hint_block.0 / 2(N+1) / 2(blocks+1)
 *     (diffusers keeps only the convs; the LDM Sequential has a SiLU between each pair, hence the even indices)
 *   controlnet_down_blocks.N → zero_convs.N.0, controlnet_mid_block → middle_block_out.0
 * A ControlNet Union (union.ts) adds task_embedding, transformer_layes.0.*, spatial_ch_projs and
 * control_add_embedding, kept under their own names except `attn.in_proj_weight/_bias` → `attn.in_proj.weight/.bias`
 * (ComfyUI's rename; only layer 0 exists in ComfyUI's network, so other layers are reported unused).
 * Nothing is copied: the renamed view points at the user's bytes (RenamedSource). The file is checked when it
 * is loaded, so a truncated or foreign file fails at the loader naming the file, not later inside a sampler.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WeftError } from '../../errors.ts';
import { SafetensorsFile } from '../../io/safetensors.ts';
import type { HeadOptions } from '../unet/config.ts';
import { headsFromUNetConfig } from '../diffusers/folder.ts';
import { isDiffusersUNet, RenamedSource } from '../diffusers/source.ts';
import { keyRenamer, layoutFromDiffusers, modulePairs, type UNetLayout } from '../diffusers/unet-keys.ts';
import { fileIdentity } from '../lora/cache.ts';
import type { ControlNetModel } from './socket.ts';
import { UNION_KEYS, unionSpec } from './union.ts';

/** The prefix the renamed view presents (the v1.1 LDM release's), so the builder reads both formats alike. */
export const DIFFUSERS_CONTROLNET_PREFIX = 'control_model.';

type Keys = readonly string[];

/** The LDM modules of the encoder copy the builder reads. */
const ENCODER = /^(time_embed|label_emb|input_blocks|middle_block)\./;

const UNION = new Set(UNION_KEYS);

/**
 * ComfyUI recognises a union file by control_add_embedding.linear_1.bias; any union tensor counts here, so a
 * union file missing a part is reported (unionSpec) instead of running as a plain ControlNet.
 */
function isUnion(keys: Keys): boolean {
  return keys.some((k) => /^(task_embedding$|control_add_embedding\.|transformer_layes\.|spatial_ch_projs\.)/.test(k));
}

/** Whether the keys are a diffusers-layout ControlNet (or a broken one: it is then reported, not misread as LDM). */
export function isDiffusersControlNet(keys: Keys): boolean {
  return keys.some((k) => k.startsWith('controlnet_cond_embedding') || k.startsWith('controlnet_down_blocks.') || k.startsWith('controlnet_mid_block.'));
}

function malformed(file: string, what: string): never {
  throw new WeftError(`${file}: a diffusers-format ControlNet, but ${what}`, { file, type: 'invalid_model_file' });
}

/** Largest N+1 with `${p}0.weight` … `${p}N.weight` all present; a gap after it is an error. */
function contiguous(keys: Keys, p: string, file: string): number {
  const seen = new Set<number>();
  for (const k of keys) {
    const m = k.startsWith(p) ? /^(\d+)\.weight$/.exec(k.slice(p.length)) : null;
    if (m) seen.add(Number(m[1]));
  }
  for (let i = 0; i < seen.size; i++) if (!seen.has(i)) malformed(file, `${p}${i}.weight is missing (found ${[...seen].sort((a, b) => a - b).map((n) => `${p}${n}`).join(', ')})`);
  return seen.size;
}

/** Input blocks of the LDM encoder: conv_in, every res block, every downsampler (one zero conv each). */
function inputBlocks(L: UNetLayout): number {
  return L.down.reduce((n, lv) => n + lv.attn.length + (lv.resample ? 1 : 0), 1);
}

/**
 * diffusers ControlNet key → LDM key (without prefix), or null for a key no LDM module owns. Throws a WeftError
 * naming `file` when a part the builder needs is missing or the parts disagree.
 */
export function controlNetRenamer(keys: Keys, file: string): (key: string) => string | null {
  const has = new Set(keys);
  const union = isUnion(keys);
  if (!isDiffusersUNet(has)) malformed(file, 'its UNet encoder is missing (no conv_in / time_embedding / down_blocks tensors)');
  if (!has.has('mid_block.resnets.0.conv1.weight')) malformed(file, 'its mid block is missing (no mid_block.resnets.0)');
  for (const k of ['controlnet_cond_embedding.conv_in.weight', 'controlnet_cond_embedding.conv_out.weight', 'controlnet_mid_block.weight']) {
    if (!has.has(k)) malformed(file, `${k} is missing`);
  }
  const hintBlocks = contiguous(keys, 'controlnet_cond_embedding.blocks.', file);
  const zeroConvs = contiguous(keys, 'controlnet_down_blocks.', file);
  const layout = layoutFromDiffusers(keys);
  const blocks = inputBlocks(layout);
  if (zeroConvs !== blocks) malformed(file, `it has ${zeroConvs} controlnet_down_blocks for ${blocks} encoder blocks`);
  const unet = keyRenamer(modulePairs(layout), false);
  const lastHint = 2 * (hintBlocks + 1);
  return (key) => {
    let m = /^controlnet_cond_embedding\.(conv_in|conv_out|blocks\.(\d+))\.(weight|bias)$/.exec(key);
    if (m) return `input_hint_block.${m[1] === 'conv_in' ? 0 : m[1] === 'conv_out' ? lastHint : 2 * (Number(m[2]) + 1)}.${m[3]}`;
    m = /^controlnet_down_blocks\.(\d+)\.(weight|bias)$/.exec(key);
    if (m) return `zero_convs.${m[1]}.0.${m[2]}`;
    m = /^controlnet_mid_block\.(weight|bias)$/.exec(key);
    if (m) return `middle_block_out.0.${m[1]}`;
    if (union) {
      const u = key.replace('.attn.in_proj_', '.attn.in_proj.');
      if (UNION.has(u)) return u;
    }
    // The UNet map also names the decoder side (up_blocks, conv_out…), which a ControlNet has no use for:
    // such tensors are left unmapped so the loader reports them instead of carrying them along.
    const l = unet(key);
    return l !== null && ENCODER.test(l) ? l : null;
  };
}

/** The file's tensors under `control_model.*` names, over the file's own bytes. Closing the source closes the file. */
export function diffusersControlNetSource(file: string, name = file): RenamedSource {
  const f = SafetensorsFile.open(file);
  try {
    const rename = controlNetRenamer(f.keys(), name);
    return new RenamedSource(f, (k) => { const l = rename(k); return l === null ? null : DIFFUSERS_CONTROLNET_PREFIX + l; });
  } catch (e) {
    f.close();
    throw e;
  }
}

/**
 * The ControlNetModel config.json beside a `diffusion_pytorch_model*` file (a single renamed file's neighbour may
 * belong to something else, so it is only read for the folder layout). Undefined when there is none.
 */
function folderConfig(file: string): Record<string, unknown> | undefined {
  if (!/^diffusion_pytorch_model(\.[\w-]+)?\.(safetensors|bin)$/.test(path.basename(file))) return undefined;
  const p = path.join(path.dirname(file), 'config.json');
  if (!existsSync(p)) return undefined;
  let cfg: unknown;
  try { cfg = JSON.parse(readFileSync(p, 'utf8')); } catch (e) {
    throw new WeftError(`${file}: its ${p} is not valid JSON (${(e as Error).message})`, { file: p, type: 'invalid_model_file' });
  }
  if (!cfg || typeof cfg !== 'object' || (cfg as Record<string, unknown>)._class_name !== 'ControlNetModel') return undefined;
  return cfg as Record<string, unknown>;
}

/**
 * ControlNetLoader for a diffusers file: `st` is the safetensors form of `file` (a .bin converted in the cache).
 * Head split: config.json's when present (what diffusers runs), else the builder's shape rule, which is the one
 * ComfyUI's detection lands on (SD1 8 heads, SD2/SDXL 64 channels per head). Shuffle ControlNets: config.json's
 * `global_pool_conditions`, or ComfyUI's `_shuffle` file-name rule. Unused tensors are reported, as ComfyUI does.
 */
export function loadDiffusersControlNet(file: string, st: string, keys: Keys, warn?: (message: string) => void): ControlNetModel {
  const rename = controlNetRenamer(keys, file);
  const leftover = keys.filter((k) => rename(k) === null);
  if (leftover.length > 0) warn?.(`${path.basename(file)}: ${leftover.length} tensor(s) of this diffusers ControlNet are not used (${leftover.slice(0, 5).join(', ')}${leftover.length > 5 ? ', …' : ''})`);
  const cfg = folderConfig(file);
  const heads: HeadOptions = cfg ? headsFromUNetConfig(cfg) : {};
  const stem = path.basename(file).replace(/\.[^.]+$/, '');
  const union = isUnion(keys) ? unionTypes(st, file) : undefined;
  return {
    kind: 'controlnet',
    path: file,
    prefix: DIFFUSERS_CONTROLNET_PREFIX,
    key: ['controlnet', fileIdentity(st), 'diffusers', JSON.stringify(heads), ...(union ? ['union'] : [])].join('|'),
    heads,
    ...(union ? { union } : {}),
    globalAveragePooling: cfg?.global_pool_conditions === true || /_shuffle(_fp16)?$/.test(stem),
    open: () => diffusersControlNetSource(st, file),
  };
}

/** A union file's type count, its union tensors checked against the encoder they extend (at load). */
function unionTypes(st: string, file: string): { types: number } {
  const src = diffusersControlNetSource(st, file);
  try {
    const p = DIFFUSERS_CONTROLNET_PREFIX;
    const modelChannels = src.get(`${p}input_blocks.0.0.weight`).shape[0]!;
    return { types: unionSpec({ tensors: src.tensors, path: file }, p, { modelChannels }, src.get(`${p}time_embed.2.weight`).shape[0]!).types };
  } finally {
    src.close();
  }
}
