/**
 * Saving numbered files like ComfyUI's folder_paths.get_save_image_path + SaveImage:
 * `<prefix>_00001_.png`, counter = 1 + the highest counter already used by that prefix, sub-folders
 * inside the prefix, the backend tokens %width% %height% %year% … plus the frontend's
 * %date:yyyy-MM-dd%. Unlike ComfyUI, a file is never overwritten (concurrent savers included) and
 * never visible half-written: bytes go to a hidden temp file that is then hard-linked (or, where
 * links are unsupported, renamed onto an exclusively reserved name) under its final name.
 */
import fs from 'node:fs';
import { open, link, rename, unlink, mkdir, readdir, lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { WeftError, errorMessage } from '../errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { encodePng } from '../tensor/image.ts';
import { addPngText, jsonDumps } from './png.ts';

export type SaveType = 'output' | 'temp' | 'input';

/** ComfyUI's ui entry for a saved file. */
export interface SavedFile {
  filename: string;
  subfolder: string;
  type: SaveType;
}

const DATE_PARTS: Record<string, (d: Date) => number> = {
  d: (d) => d.getDate(),
  M: (d) => d.getMonth() + 1,
  h: (d) => d.getHours(),
  m: (d) => d.getMinutes(),
  s: (d) => d.getSeconds(),
};

/** The frontend's date format: yyyy yy MM M dd d hh h mm m ss s (h is 0–23). */
export function formatDate(format: string, date: Date): string {
  return format.replace(/dd?|MM?|hh?|mm?|ss?|yyy?y?/g, (t) => {
    if (t === 'yy') return String(date.getFullYear()).substring(2);
    if (t === 'yyyy') return String(date.getFullYear());
    const part = DATE_PARTS[t[0]];
    return part ? String(part(date)).padStart(t.length, '0') : t;
  });
}

export interface TokenValues {
  width: number;
  height: number;
  now?: Date;
}

/**
 * Replaces %date:…% and ComfyUI's backend tokens. %Node title.widget% tokens are the frontend's
 * job (it knows titles and widgets); like ComfyUI's backend, they are left as written.
 */
export function expandPrefixTokens(prefix: string, v: TokenValues): string {
  if (!prefix.includes('%')) return prefix;
  const now = v.now ?? new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return prefix
    .replace(/%date:([^%]*)%/g, (_, f: string) => formatDate(f, now))
    .replaceAll('%width%', String(v.width))
    .replaceAll('%height%', String(v.height))
    .replaceAll('%year%', String(now.getFullYear()))
    .replaceAll('%month%', two(now.getMonth() + 1))
    .replaceAll('%day%', two(now.getDate()))
    .replaceAll('%hour%', two(now.getHours()))
    .replaceAll('%minute%', two(now.getMinutes()))
    .replaceAll('%second%', two(now.getSeconds()));
}

function refuse(prefix: string, why: string): never {
  throw new WeftError(`filename_prefix "${prefix}" refused: ${why}`, { type: 'path_refused', input: 'filename_prefix', file: prefix });
}

/** Sub-folder segments and file name of an expanded prefix; refuses anything that could leave the root. */
export function splitPrefix(prefix: string): { segments: string[]; filename: string } {
  if (prefix.includes('\0')) refuse(prefix, 'it contains a NUL character');
  if (/%(2e|2f|5c)/i.test(prefix)) refuse(prefix, 'percent-encoded dots or slashes are not allowed');
  const norm = prefix.replace(/\\/g, '/');
  if (norm.startsWith('/') || /^[A-Za-z]:/.test(norm)) refuse(prefix, 'absolute paths are not allowed');
  const parts = norm.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) refuse(prefix, '".." would leave the output folder');
  if (process.platform === 'win32' && parts.some((s) => s.includes(':'))) refuse(prefix, '":" is not allowed in file names');
  const filename = parts.pop();
  if (!filename) refuse(prefix, 'no file name is left');
  return { segments: parts, filename };
}

function inside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Creates root/segments… one level at a time, refusing any step that resolves outside root. */
export async function ensureSubfolder(root: string, segments: string[], prefix: string): Promise<string> {
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  let dir = root;
  for (const seg of segments) {
    dir = path.join(dir, seg);
    try {
      const st = await lstat(dir);
      if (st.isSymbolicLink() && !inside(await realpath(dir).catch(() => ''), realRoot)) {
        refuse(prefix, `"${seg}" is a link that leads outside the folder`);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  }
  const real = await realpath(dir);
  if (!inside(real, realRoot)) refuse(prefix, 'it resolves outside the folder');
  if (!(await lstat(real)).isDirectory()) refuse(prefix, `"${segments.join('/')}" is not a folder`);
  return dir;
}

const caseless = process.platform === 'win32';

/** 1 + the highest counter among `<filename>_<n>…` files in folder (ComfyUI's rule), 1 if none. */
export function nextCounter(folder: string, filename: string): number {
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return 1;
  }
  const want = caseless ? filename.toLowerCase() : filename;
  let best: number | undefined;
  for (const name of names) {
    const head = name.slice(0, filename.length);
    if ((caseless ? head.toLowerCase() : head) !== want || name[filename.length] !== '_') continue;
    const digits = name.slice(filename.length + 1).split('_')[0];
    const n = /^\s*[+-]?\d+\s*$/.test(digits) ? Number(digits) : 0;
    if (best === undefined || n > best) best = n;
  }
  return best === undefined ? 1 : best + 1;
}

const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS', 'EMLINK']);

/**
 * Writes bytes under folder/name only if that name is free. Returns false when it is taken.
 * Readers never see a partial file under `name`; a failed write leaves nothing behind.
 */
export async function writeNewFile(folder: string, name: string, bytes: Uint8Array): Promise<boolean> {
  const final = path.join(folder, name);
  const tmp = path.join(folder, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(bytes);
    await fh.datasync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await link(tmp, final);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_LINKS.has(code)) throw e;
    // No hard links here: reserve the name exclusively, then move the complete file onto it.
    try {
      await (await open(final, 'wx')).close();
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
    await rename(tmp, final).catch(async (e3) => {
      await unlink(final).catch(() => {});
      throw e3;
    });
    return true;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

export interface SaveSequenceOptions {
  root: string;
  type: SaveType;
  /** The raw filename_prefix input (tokens not yet expanded). */
  prefix: string;
  /** Token values: %width%/%height% are the first image's. */
  tokens: TokenValues;
  ext: string;
}

/**
 * Saves items as `<name>_<counter:05>_.<ext>` in the prefix's folder; %batch_num% in the name is
 * the item's index. Taken names are skipped, so concurrent saves never collide.
 */
export async function saveSequence(opts: SaveSequenceOptions, items: readonly Uint8Array[]): Promise<SavedFile[]> {
  const expanded = expandPrefixTokens(opts.prefix, opts.tokens);
  const { segments, filename } = splitPrefix(expanded);
  const folder = await ensureSubfolder(opts.root, segments, opts.prefix);
  const subfolder = segments.join('/');
  let counter = nextCounter(folder, filename);
  const out: SavedFile[] = [];
  for (let i = 0; i < items.length; i++) {
    const base = filename.replaceAll('%batch_num%', String(i));
    for (;;) {
      const name = `${base}_${String(counter).padStart(5, '0')}_.${opts.ext}`;
      let ok: boolean;
      try {
        ok = await writeNewFile(folder, name, items[i]);
      } catch (e) {
        throw new WeftError(`could not write ${path.join(folder, name)}: ${errorMessage(e)}`, { type: 'save_failed', file: name });
      }
      counter++;
      if (ok) {
        out.push({ filename: name, subfolder, type: opts.type });
        break;
      }
    }
  }
  return out;
}

/** ComfyUI's PNG text chunks: "prompt" (API prompt), then one per extra_pnginfo key (e.g. "workflow"). */
export function comfyPngText(prompt: unknown, extraPngInfo: Record<string, unknown> | undefined): Record<string, string> {
  const texts: Record<string, string> = {};
  if (prompt !== undefined && prompt !== null) texts.prompt = jsonDumps(prompt);
  for (const [k, v] of Object.entries(extraPngInfo ?? {})) texts[k] = jsonDumps(v);
  return texts;
}

export interface SaveImagesOptions {
  root: string;
  type: SaveType;
  prefix: string;
  /** 4 for SaveImage, 1 for PreviewImage. */
  compressionLevel: number;
  prompt?: unknown;
  extraPngInfo?: Record<string, unknown>;
  /** ComfyUI's --disable-metadata. */
  metadata?: boolean;
  now?: Date;
}

/** SaveImage's body: every batch element as a PNG with the prompt/workflow text chunks. */
export async function saveImages(images: Tensor, opts: SaveImagesOptions): Promise<SavedFile[]> {
  if (images.shape.length !== 4) throw new WeftError(`expected IMAGE [B,H,W,C], got shape [${images.shape.join(', ')}]`, { input: 'images' });
  const [b, h, w] = images.shape;
  const texts = opts.metadata === false ? {} : comfyPngText(opts.prompt, opts.extraPngInfo);
  const pngs: Uint8Array[] = [];
  for (let i = 0; i < b; i++) {
    const png = await encodePng(images, i, { compressionLevel: opts.compressionLevel });
    pngs.push(Object.keys(texts).length ? addPngText(png, texts) : png);
  }
  return saveSequence({ root: opts.root, type: opts.type, prefix: opts.prefix, tokens: { width: w, height: h, now: opts.now }, ext: 'png' }, pngs);
}
