/**
 * The DiffusersLoader combo: folders under models/diffusers holding a model_index.json, as paths relative
 * to the models folder root ('/'-separated), the way ComfyUI lists them (os.walk for model_index.json).
 */
import path from 'node:path';

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
export function resolveDiffusersFolder(resolveModel: (folder: string, name: string) => string, name: string): string {
  return path.dirname(resolveModel('diffusers', `${name.replace(/[\\/]+$/, '')}/model_index.json`));
}
