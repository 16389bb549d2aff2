/**
 * The DiffusersLoader combo: folders under models/diffusers holding a model_index.json, as paths relative
 * to the models folder root ('/'-separated), the way ComfyUI lists them (os.walk for model_index.json).
 */
import path from 'node:path';
import { WeftError } from '../../errors.ts';

/** Folder names from the files listModels('diffusers') returns. */
export function listDiffusersFolders(files: readonly string[]): string[] {
  const out = new Set<string>();
  for (const f of files) {
    const parts = f.split(/[\\/]/);
    if (parts[parts.length - 1] !== 'model_index.json' || parts.length < 2) continue;
    out.add(parts.slice(0, -1).join('/'));
  }
  return [...out].sort();
}

/** The folder of a combo value: model_index.json resolved through the models folders, then its directory. */
export function resolveDiffusersFolder(resolveModel: (folder: string, name: string) => string, name: string, input = 'model_path'): string {
  const want = name.split(/[\\/]+/).filter(Boolean);
  const dir = path.dirname(resolveModel('diffusers', [...want, 'model_index.json'].join('/')));
  // resolveModel falls back to any file of the same base name; every folder's index is "model_index.json",
  // so a hit in another folder must not stand in for the one asked for.
  if (dir.split(/[\\/]+/).slice(-want.length).join('/') !== want.join('/')) {
    throw new WeftError(`${input}: diffusers folder "${name}" not found (no ${want.join('/')}/model_index.json under models/diffusers)`, { input, type: 'model_load_error' });
  }
  return dir;
}
