import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { WeftError } from '../errors.ts';

/** ComfyUI folder keys → default subdirectories of models/ (folder_paths.py). */
export const MODEL_FOLDERS: Readonly<Record<string, readonly string[]>> = {
  checkpoints: ['checkpoints'],
  configs: ['configs'],
  loras: ['loras'],
  vae: ['vae'],
  vae_approx: ['vae_approx'],
  text_encoders: ['text_encoders', 'clip'],
  diffusion_models: ['unet', 'diffusion_models'],
  clip_vision: ['clip_vision'],
  style_models: ['style_models'],
  embeddings: ['embeddings'],
  diffusers: ['diffusers'],
  controlnet: ['controlnet', 't2i_adapter'],
  gligen: ['gligen'],
  upscale_models: ['upscale_models'],
  latent_upscale_models: ['latent_upscale_models'],
  hypernetworks: ['hypernetworks'],
  photomaker: ['photomaker'],
  classifiers: ['classifiers'],
  model_patches: ['model_patches'],
  audio_encoders: ['audio_encoders'],
  ipadapter: ['ipadapter'],
  onnx: ['onnx'],
  interrogator: ['interrogator'],
  tokenizers: ['tokenizers'],
};

/** Legacy and alternative names users (and custom nodes, and extra_model_paths.yaml files) still use. */
export const FOLDER_ALIASES: Readonly<Record<string, string>> = {
  clip: 'text_encoders',
  unet: 'diffusion_models',
  t2i_adapter: 'controlnet',
};

export const MODEL_EXTENSIONS: readonly string[] = ['.ckpt', '.pt', '.pt2', '.bin', '.pth', '.safetensors', '.pkl', '.sft', '.gguf'];

/** Extensions per folder where they differ from the model default; null = any file. */
export const FOLDER_EXTENSIONS: Readonly<Record<string, readonly string[] | null>> = {
  configs: ['.yaml'],
  diffusers: null,
  interrogator: ['.txt'],
  tokenizers: ['.json', '.model', '.txt'],
};

export function canonicalFolder(folder: string): string {
  return FOLDER_ALIASES[folder] ?? folder;
}

/** One directory to search for a folder key; `isDefault` roots are searched first. */
export interface ModelRoot {
  folder: string;
  dir: string;
  isDefault: boolean;
}

function expandPath(p: string, baseDir: string): string {
  let s = p.trim();
  if (s === '~' || s.startsWith('~/') || s.startsWith('~\\')) s = path.join(os.homedir(), s.slice(1));
  // $VAR, ${VAR} and %VAR% like Python's os.path.expandvars; unknown variables stay as written.
  s = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|%([A-Za-z_][A-Za-z0-9_]*)%/g, (m, a, b, c) => {
    const v = process.env[a ?? b ?? c];
    return v === undefined ? m : v;
  });
  return path.resolve(baseDir, s);
}

/**
 * Reads a ComfyUI extra_model_paths.yaml: top-level sections, each with an optional base_path
 * (relative to the yaml's folder), optional is_default, and folder keys whose values are one
 * path or several on separate lines.
 */
export function parseExtraModelPaths(file: string): ModelRoot[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new WeftError(`cannot read extra_model_paths file ${file}: ${(e as Error).message}`, { type: 'config_error', file });
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new WeftError(`invalid YAML in ${file}: ${(e as Error).message}`, { type: 'config_error', file });
  }
  const roots: ModelRoot[] = [];
  if (doc == null) return roots;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new WeftError(`${file}: expected sections of folder paths at the top level`, { type: 'config_error', file });
  }
  const yamlDir = path.dirname(path.resolve(file));
  for (const [section, body] of Object.entries(doc as Record<string, unknown>)) {
    if (body == null) continue;
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new WeftError(`${file}: section "${section}" must map folder names to paths`, { type: 'config_error', file });
    }
    const conf = body as Record<string, unknown>;
    const base = typeof conf.base_path === 'string' ? expandPath(conf.base_path, yamlDir) : yamlDir;
    const isDefault = conf.is_default === true || conf.is_default === 'true';
    for (const [key, value] of Object.entries(conf)) {
      if (key === 'base_path' || key === 'is_default') continue;
      if (typeof value !== 'string') {
        throw new WeftError(`${file}: ${section}.${key} must be a path or a multi-line list of paths`, { type: 'config_error', file });
      }
      for (const line of value.split(/\r?\n/)) {
        if (line.trim() === '') continue;
        roots.push({ folder: canonicalFolder(key), dir: expandPath(line, base), isDefault });
      }
    }
  }
  return roots;
}
