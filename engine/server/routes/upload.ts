/** POST /upload/image and /upload/mask (multipart), with ComfyUI's naming and the mask editor's alpha merge. */
import path from 'node:path';
import fs from 'node:fs/promises';
import sharp from 'sharp';
import { WeftError } from '../../errors.ts';
import { addPngText, readPngText } from '../../io/png.ts';
import { IMAGE_EXTENSIONS, checkFileName, ensureDirInside, parseType, saveUpload, sniffImage, splitAnnotation, subfolderSegments, type FileType } from '../files.ts';
import { HttpError, isTruthyFlag, readBody, sendJson, type Req } from '../http.ts';
import type { Route } from '../router.ts';
import type { ServerContext } from '../context.ts';

interface Upload {
  form: FormData;
  file: File;
  bytes: Buffer;
  name: string;
  type: FileType;
  subfolder: string;
  overwrite: boolean;
}

function rootOf(ctx: ServerContext, type: FileType): string {
  return type === 'output' ? ctx.folders.outputDir : type === 'temp' ? ctx.folders.tempDir : ctx.folders.inputDir;
}

function field(form: FormData, name: string): string | null {
  const v = form.get(name);
  return typeof v === 'string' ? v : null;
}

async function readUpload(req: Req): Promise<Upload> {
  const ct = req.raw.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;\s*boundary=/i.test(ct)) throw new HttpError(400, 'expected a multipart/form-data body');
  const body = await readBody(req, req.limits.upload);
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(body.buffer, body.byteOffset, body.byteLength) as Uint8Array<ArrayBuffer>, { headers: { 'content-type': ct } }).formData();
  } catch {
    throw new HttpError(400, 'malformed multipart body');
  }
  const file = form.get('image');
  if (!file || typeof file === 'string') throw new HttpError(400, 'the "image" file field is missing');
  const name = checkFileName(file.name, 'image file name');
  if (!IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase())) throw new HttpError(400, `"${name}" does not have an image file extension (${IMAGE_EXTENSIONS.join(' ')})`);
  const bytes = Buffer.from(await file.arrayBuffer());
  if (!sniffImage(bytes)) throw new HttpError(400, `"${name}" is not an image (PNG, JPEG, WebP, GIF, BMP, TIFF or AVIF expected)`);
  try {
    await sharp(bytes).metadata();
  } catch {
    throw new HttpError(400, `"${name}" is not a readable image`);
  }
  return {
    form,
    file,
    bytes,
    name,
    type: parseType(field(form, 'type'), 'input'),
    subfolder: field(form, 'subfolder') ?? '',
    overwrite: isTruthyFlag(field(form, 'overwrite')),
  };
}

async function store(ctx: ServerContext, up: Upload, bytes: Uint8Array): Promise<{ name: string; subfolder: string; type: FileType }> {
  const segs = subfolderSegments(up.subfolder);
  const dir = await ensureDirInside(rootOf(ctx, up.type), segs);
  const name = await saveUpload(dir, up.name, bytes, up.overwrite);
  return { name, subfolder: up.subfolder, type: up.type };
}

/** The original image the mask editor painted on, from the form's original_ref JSON. */
function originalFile(ctx: ServerContext, refText: string | null): string {
  if (!refText) throw new HttpError(400, 'original_ref is required');
  let ref: unknown;
  try {
    ref = JSON.parse(refText);
  } catch {
    throw new HttpError(400, 'original_ref is not valid JSON');
  }
  const r = ref as { filename?: unknown; subfolder?: unknown; type?: unknown };
  if (!r || typeof r !== 'object' || typeof r.filename !== 'string') throw new HttpError(400, 'original_ref.filename must be a string');
  const { name, type: annotated } = splitAnnotation(r.filename);
  if (!name || name.startsWith('/') || name.includes('..')) throw new HttpError(400, 'invalid original_ref.filename');
  const type = annotated ?? parseType(typeof r.type === 'string' ? r.type : null, 'output');
  const segs = subfolderSegments(typeof r.subfolder === 'string' ? r.subfolder : '');
  checkFileName(path.posix.basename(name), 'original_ref.filename');
  try {
    return ctx.folders.resolveTyped(type, [...segs, path.posix.basename(name)].join('/'));
  } catch (e) {
    if (e instanceof WeftError && e.type === 'path_refused') throw new HttpError(403, 'original_ref resolves outside its folder');
    throw new HttpError(404, 'original_ref file not found');
  }
}

async function rgba(bytes: Uint8Array, what: string): Promise<{ data: Buffer; width: number; height: number }> {
  try {
    const { data, info } = await sharp(bytes).toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error('unexpected channel count');
    return { data, width: info.width, height: info.height };
  } catch {
    throw new HttpError(400, `cannot decode ${what}`);
  }
}

/** The original's colours with the painted mask's alpha, as an RGBA PNG keeping the original's text chunks. */
async function applyMask(original: Buffer, mask: Buffer): Promise<Uint8Array> {
  const o = await rgba(original, 'the original image');
  const m = await rgba(mask, 'the mask');
  if (o.width !== m.width || o.height !== m.height) {
    throw new HttpError(400, `the mask is ${m.width}×${m.height} but the original is ${o.width}×${o.height}`);
  }
  for (let i = 3; i < o.data.length; i += 4) o.data[i] = m.data[i];
  const png = await sharp(o.data, { raw: { width: o.width, height: o.height, channels: 4 } }).png({ compressionLevel: 4 }).toBuffer();
  let texts: Record<string, string> = {};
  if (sniffImage(original) === 'png') {
    try {
      texts = readPngText(original);
    } catch {
      texts = {};
    }
  }
  return Object.keys(texts).length ? addPngText(png, texts) : png;
}

export const uploadRoutes: Route[] = [
  {
    method: 'POST',
    path: '/upload/image',
    async handler(req, res, ctx) {
      const up = await readUpload(req);
      sendJson(res, 200, await store(ctx, up, up.bytes));
    },
  },
  {
    method: 'POST',
    path: '/upload/mask',
    async handler(req, res, ctx) {
      const up = await readUpload(req);
      const original = await fs.readFile(originalFile(ctx, field(up.form, 'original_ref')));
      const merged = await applyMask(original, up.bytes);
      sendJson(res, 200, await store(ctx, { ...up, name: up.name.replace(/\.[^.]+$/, '.png') }, merged));
    },
  },
];
