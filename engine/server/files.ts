/**
 * File-system rules for /view and the uploads: names a client sends can never leave the typed
 * folder — `..`, absolute paths and symbolic links pointing outside are all refused — and an upload
 * lands under its final name whole or not at all.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WeftError } from '../errors.ts';
import { safeSegments } from '../io/folders.ts';
import { HttpError } from './http.ts';

export type FileType = 'input' | 'output' | 'temp';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp', '.tif', '.tiff', '.avif'];

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.avif': 'image/avif',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Content type for serving a stored file; anything a browser could run (html, js, svg, …) is plain bytes. */
export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** The image format from the first bytes, or null: the upload check trusts content, not names. */
export function sniffImage(b: Uint8Array): string | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 4) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (b.length >= 26 && ascii(0, 2) === 'BM') return 'bmp';
  if (b.length >= 4 && ((ascii(0, 2) === 'II' && b[2] === 42 && b[3] === 0) || (ascii(0, 2) === 'MM' && b[2] === 0 && b[3] === 42))) return 'tiff';
  if (b.length >= 12 && ascii(4, 8) === 'ftyp' && ['avif', 'avis'].includes(ascii(8, 12))) return 'avif';
  return null;
}

export function parseType(v: string | null | undefined, fallback: FileType): FileType {
  const t = v === null || v === undefined || v === '' ? fallback : v;
  if (t !== 'input' && t !== 'output' && t !== 'temp') throw new HttpError(400, `type must be input, output or temp, got "${t}"`);
  return t;
}

/** "x.png [output]" → the name and its folder type (ComfyUI's annotated file names). */
export function splitAnnotation(name: string): { name: string; type?: FileType } {
  const m = /^(.*?)\s*\[(input|output|temp)\]$/.exec(name);
  return m ? { name: m[1], type: m[2] as FileType } : { name };
}

/** A plain file name from a client: no separators, no `..`, no hidden or control characters. */
export function checkFileName(name: string, what = 'file name'): string {
  // eslint-disable-next-line no-control-regex
  if (!name || name.length > 255 || /[/\\\x00-\x1f]/.test(name) || name === '.' || name === '..' || name.startsWith('.')) {
    throw new HttpError(400, `invalid ${what}: "${name.slice(0, 100)}"`);
  }
  return name;
}

/** Subfolder segments, refusing `..` and absolute paths with 403 as ComfyUI does for escapes. */
export function subfolderSegments(subfolder: string | null | undefined): string[] {
  if (!subfolder) return [];
  if (subfolder.includes('\0')) throw new HttpError(403, 'invalid subfolder');
  try {
    return safeSegments(subfolder, 'subfolder');
  } catch (e) {
    throw new HttpError(403, e instanceof WeftError ? e.message : 'invalid subfolder');
  }
}

function isInside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The real directory for `segs` under `root`, created one level at a time so that a symbolic link
 * pointing outside is refused before anything is created through it.
 */
export async function ensureDirInside(root: string, segs: readonly string[]): Promise<string> {
  await fs.mkdir(root, { recursive: true });
  const realRoot = await fs.realpath(root);
  let cur = realRoot;
  for (const seg of segs) {
    const next = path.join(cur, seg);
    let st: import('node:fs').Stats | null = null;
    try {
      st = await fs.lstat(next);
    } catch {
      st = null;
    }
    if (!st) {
      await fs.mkdir(next).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      cur = await fs.realpath(next);
    } else {
      const real = await fs.realpath(next).catch(() => null);
      if (!real || !isInside(real, realRoot)) throw new HttpError(403, 'subfolder resolves outside its folder');
      if (!(await fs.stat(real)).isDirectory()) throw new HttpError(400, `subfolder "${segs.join('/')}" is not a directory`);
      cur = real;
    }
    if (!isInside(cur, realRoot)) throw new HttpError(403, 'subfolder resolves outside its folder');
  }
  return cur;
}

async function sameContent(file: string, bytes: Uint8Array): Promise<boolean> {
  const st = await fs.lstat(file);
  if (!st.isFile() || st.size !== bytes.length) return false;
  const h = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  return h(await fs.readFile(file)) === h(bytes);
}

/**
 * Writes `bytes` as `name` in `dir` with ComfyUI's upload rules: overwrite when asked; otherwise an
 * identical existing file is reused and a different one makes the name "x (1).png", "x (2).png", ….
 * Returns the name used.
 */
export async function saveUpload(dir: string, name: string, bytes: Uint8Array, overwrite: boolean): Promise<string> {
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  const tmp = path.join(dir, `.${randomBytes(8).toString('hex')}.upload`);
  await fs.writeFile(tmp, bytes, { flag: 'wx' });
  try {
    for (let i = 0; i < 10000; i++) {
      const candidate = i === 0 ? name : `${stem} (${i})${ext}`;
      const target = path.join(dir, candidate);
      if (overwrite) {
        // rename replaces a symbolic link itself, never the file it points to.
        await fs.rename(tmp, target);
        return candidate;
      }
      try {
        // link() fails if the name exists, so two concurrent uploads never take the same name.
        await fs.link(tmp, target).catch(async (e: NodeJS.ErrnoException) => {
          // File systems without hard links: an exclusive create is the same guarantee, minus atomicity.
          if (e.code === 'EPERM' || e.code === 'ENOTSUP' || e.code === 'ENOSYS') await fs.writeFile(target, bytes, { flag: 'wx' });
          else throw e;
        });
        return candidate;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      if (await sameContent(target, bytes)) return candidate;
    }
    throw new HttpError(409, `too many files named like "${name}"`);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** RFC 6266 Content-Disposition carrying any file name safely. */
export function contentDisposition(name: string, kind: 'inline' | 'attachment' = 'inline'): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
