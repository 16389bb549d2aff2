import fs from 'node:fs';
import path from 'node:path';
import { WeftError } from '../errors.ts';
import type { Folders } from '../graph/context.ts';
import {
  FOLDER_EXTENSIONS,
  MODEL_EXTENSIONS,
  MODEL_FOLDERS,
  canonicalFolder,
  parseExtraModelPaths,
  type ModelRoot,
} from './model-paths.ts';

export interface FoldersOptions {
  modelsDir: string;
  inputDir: string;
  outputDir: string;
  tempDir: string;
  /** Path(s) to ComfyUI extra_model_paths.yaml files. */
  extraModelPaths?: string | string[];
}

/** Folders plus what the server and CLI need beyond the node-facing interface. */
export interface WeftFolders extends Folders {
  readonly modelsDir: string;
  /** Directories searched for a folder key, in priority order. */
  modelRoots(folder: string): string[];
  /** Absolute path for a ComfyUI (type, subfolder, filename) triple, e.g. for /view. */
  resolveTyped(type: 'input' | 'output' | 'temp', name: string): string;
}

interface ListingCache {
  files: string[];
  dirMtimes: Map<string, number>;
}

/** Splits a user-supplied relative name into safe segments; refuses absolute paths and `..`. */
export function safeSegments(name: string, what: string): string[] {
  const norm = name.replace(/\\/g, '/');
  if (norm.startsWith('/') || /^[A-Za-z]:/.test(norm)) {
    throw new WeftError(`${what}: absolute paths are not allowed ("${name}")`, { type: 'path_refused', file: name });
  }
  const segs = norm.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.some((s) => s === '..')) {
    throw new WeftError(`${what}: ".." is not allowed in file names ("${name}")`, { type: 'path_refused', file: name });
  }
  if (segs.length === 0) throw new WeftError(`${what}: empty file name`, { type: 'path_refused', file: name });
  return segs;
}

function realOrNull(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

function inside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** Names from `candidates` that look like `name` (same stem ignoring case, substring, or a few edits). */
export function closeMatches(name: string, candidates: readonly string[], limit = 5): string[] {
  const stem = (s: string) => path.posix.basename(s.replace(/\\/g, '/')).toLowerCase().replace(/\.[^.]*$/, '');
  const target = stem(name);
  const scored: [number, string][] = [];
  for (const c of candidates) {
    const s = stem(c);
    let score: number;
    if (s === target) score = 0;
    else if (target.length >= 3 && (s.includes(target) || target.includes(s))) score = 1;
    else {
      const d = levenshtein(s, target);
      if (d > Math.max(2, Math.floor(target.length / 3))) continue;
      score = 1 + d;
    }
    scored.push([score, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : 1));
  return scored.slice(0, limit).map((x) => x[1]);
}

class FolderSet implements WeftFolders {
  readonly modelsDir: string;
  readonly inputDir: string;
  readonly outputDir: string;
  readonly tempDir: string;
  private readonly extra: ModelRoot[];
  private readonly cache = new Map<string, ListingCache>();

  constructor(opts: FoldersOptions) {
    this.modelsDir = path.resolve(opts.modelsDir);
    this.inputDir = path.resolve(opts.inputDir);
    this.outputDir = path.resolve(opts.outputDir);
    this.tempDir = path.resolve(opts.tempDir);
    const files = opts.extraModelPaths === undefined ? [] : Array.isArray(opts.extraModelPaths) ? opts.extraModelPaths : [opts.extraModelPaths];
    this.extra = files.flatMap((f) => parseExtraModelPaths(f));
  }

  modelRoots(folder: string): string[] {
    const key = canonicalFolder(folder);
    if (!/^[A-Za-z0-9_.-]+$/.test(key) || key.startsWith('.')) {
      throw new WeftError(`unknown model folder "${folder}"`, { type: 'path_refused' });
    }
    const own = (MODEL_FOLDERS[key] ?? [key]).map((d) => path.join(this.modelsDir, d));
    const extra = this.extra.filter((r) => r.folder === key);
    const roots = [...extra.filter((r) => r.isDefault).map((r) => r.dir), ...own, ...extra.filter((r) => !r.isDefault).map((r) => r.dir)];
    return [...new Set(roots)];
  }

  listModels(folder: string): string[] {
    const exts = extensionsFor(canonicalFolder(folder));
    const out = new Set<string>();
    for (const root of this.modelRoots(folder)) {
      for (const f of this.listRoot(root, true)) if (exts === null || exts.includes(path.extname(f).toLowerCase())) out.add(f);
    }
    return [...out].sort();
  }

  resolveModel(folder: string, name: string): string {
    const key = canonicalFolder(folder);
    const what = `${key} model`;
    const segs = safeSegments(name, what);
    const roots = this.modelRoots(folder);
    for (const root of roots) {
      const hit = this.fileInRoot(root, segs, true);
      if (hit) return hit;
    }
    // Workflows shared between machines name files by another layout ("SD1.5\\x.safetensors" vs "x.safetensors").
    const all = this.listModels(folder);
    const base = segs[segs.length - 1];
    const byName = all.filter((f) => path.posix.basename(f) === base);
    const byNameCi = byName.length ? byName : all.filter((f) => path.posix.basename(f).toLowerCase() === base.toLowerCase());
    for (const f of byNameCi) {
      for (const root of roots) {
        const hit = this.fileInRoot(root, f.split('/'), true);
        if (hit) return hit;
      }
    }
    const close = closeMatches(name, all);
    const hint = close.length ? ` Close matches: ${close.join(', ')}.` : all.length ? '' : ' The folder is empty.';
    throw new WeftError(`${what} "${name}" not found in ${roots.join(', ')}.${hint}`, {
      type: 'model_not_found',
      file: name,
      extra: { folder: key, close_matches: close },
    });
  }

  listInput(): string[] {
    return [...this.listRoot(this.inputDir)].sort();
  }

  resolveInput(name: string): string {
    const m = /^(.*?)\s*\[(input|output|temp)\]$/.exec(name);
    return m ? this.resolveTyped(m[2] as 'input' | 'output' | 'temp', m[1]) : this.resolveTyped('input', name);
  }

  resolveTyped(type: 'input' | 'output' | 'temp', name: string): string {
    const root = type === 'output' ? this.outputDir : type === 'temp' ? this.tempDir : this.inputDir;
    const segs = safeSegments(name, `${type} file`);
    const hit = this.fileInRoot(root, segs);
    if (hit) return hit;
    const close = closeMatches(name, [...this.listRoot(root)]);
    const hint = close.length ? ` Close matches: ${close.join(', ')}.` : '';
    throw new WeftError(`${type} file "${name}" not found in ${root}.${hint}`, {
      type: 'file_not_found',
      file: name,
      extra: { folder: type, close_matches: close },
    });
  }

  /**
   * The absolute path if segs name a regular file under root. Names never escape (safeSegments refuses `..` and
   * absolute paths). Model roots follow symbolic links, because users link model libraries in from other disks
   * (ComfyUI follows them too); input/output/temp roots refuse links whose target leaves the root, since those
   * folders are reachable from the HTTP API.
   */
  private fileInRoot(root: string, segs: string[], followLinks = false): string | null {
    const p = path.join(root, ...segs);
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return null;
    }
    if (!st.isFile()) return null;
    if (followLinks) return p;
    const realRoot = realOrNull(root);
    const real = realOrNull(p);
    if (!realRoot || !real || !inside(real, realRoot)) {
      throw new WeftError(`"${segs.join('/')}" resolves outside ${root} (symbolic link escape refused)`, {
        type: 'path_refused',
        file: segs.join('/'),
      });
    }
    return p;
  }

  /** Relative '/'-separated files under root (hidden entries and escaping links skipped), cached by directory mtimes. */
  private listRoot(root: string, followLinks = false): readonly string[] {
    const cacheKey = followLinks ? `L:${root}` : root;
    const cached = this.cache.get(cacheKey);
    if (cached && [...cached.dirMtimes].every(([d, t]) => mtimeOf(d) === t)) return cached.files;
    const files: string[] = [];
    const dirMtimes = new Map<string, number>();
    const realRoot = realOrNull(root);
    if (!realRoot) {
      dirMtimes.set(root, -1);
    } else {
      const seen = new Set<string>();
      const walk = (dir: string, rel: string) => {
        const real = realOrNull(dir);
        if (!real || (!followLinks && !inside(real, realRoot)) || seen.has(real)) return;
        seen.add(real);
        dirMtimes.set(dir, mtimeOf(dir));
        let entries: fs.Dirent[];
        try {
          entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
          return;
        }
        for (const e of entries) {
          if (e.name.startsWith('.')) continue;
          const abs = path.join(dir, e.name);
          const r = rel ? `${rel}/${e.name}` : e.name;
          let isDir = e.isDirectory();
          let isFile = e.isFile();
          if (e.isSymbolicLink()) {
            const target = realOrNull(abs);
            if (!target || (!followLinks && !inside(target, realRoot))) continue;
            const st = fs.statSync(target);
            isDir = st.isDirectory();
            isFile = st.isFile();
          }
          if (isDir) walk(abs, r);
          else if (isFile) files.push(r);
        }
      };
      walk(root, '');
    }
    files.sort();
    this.cache.set(cacheKey, { files, dirMtimes });
    return files;
  }
}

function mtimeOf(dir: string): number {
  try {
    return fs.statSync(dir).mtimeMs;
  } catch {
    return -1;
  }
}

function extensionsFor(folder: string): readonly string[] | null {
  return folder in FOLDER_EXTENSIONS ? FOLDER_EXTENSIONS[folder] : MODEL_EXTENSIONS;
}

/** Model, input, output and temp folders laid out like ComfyUI's, plus extra_model_paths.yaml roots. */
export function createFolders(opts: FoldersOptions): WeftFolders {
  return new FolderSet(opts);
}
