/** GET /view: a stored image, as is, or re-encoded as a preview (webp/jpeg) or one channel set. */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { WeftError } from '../../errors.ts';
import { contentDisposition, contentTypeFor, parseType, splitAnnotation, subfolderSegments } from '../files.ts';
import { HttpError, sendFile, type Res } from '../http.ts';
import type { Route } from '../router.ts';
import type { ServerContext } from '../context.ts';

function resolveView(ctx: ServerContext, query: URLSearchParams): string {
  const raw = query.get('filename');
  if (!raw) throw new HttpError(400, 'filename is required');
  const { name, type: annotated } = splitAnnotation(raw);
  // eslint-disable-next-line no-control-regex
  if (!name || name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name) || name.includes('..') || /[\x00]/.test(name)) {
    throw new HttpError(400, 'invalid filename');
  }
  const type = annotated ?? parseType(query.get('type'), 'output');
  const segs = subfolderSegments(query.get('subfolder'));
  // Like ComfyUI, only the last component of filename counts; the folder comes from subfolder.
  const base = path.posix.basename(name.replace(/\\/g, '/'));
  try {
    return ctx.folders.resolveTyped(type, [...segs, base].join('/'));
  } catch (e) {
    if (e instanceof WeftError && e.type === 'path_refused') throw new HttpError(403, 'file resolves outside its folder');
    throw new HttpError(404, 'file not found');
  }
}

async function sendBuffer(res: Res, type: string, name: string, data: Buffer): Promise<void> {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': data.length, 'Content-Disposition': contentDisposition(name), 'Cache-Control': 'no-cache' });
  res.end(data);
}

async function reencode(file: string, res: Res, preview: string | null, channel: string, askedChannel: string): Promise<void> {
  const name = path.basename(file);
  try {
    if (preview !== null) {
      const parts = preview.split(';');
      let format = parts[0];
      // Alpha survives only in webp, so an explicit channel request with alpha forces it (ComfyUI's rule).
      if ((format !== 'webp' && format !== 'jpeg') || askedChannel.includes('a')) format = 'webp';
      const last = parts[parts.length - 1];
      const quality = /^\d+$/.test(last) ? Math.min(100, Math.max(1, Number(last))) : 90;
      const img = sharp(file, { limitInputPixels: 1 << 28 });
      const out = format === 'jpeg' ? await img.removeAlpha().jpeg({ quality }).toBuffer() : await img.webp({ quality }).toBuffer();
      return sendBuffer(res, `image/${format}`, name, out);
    }
    if (channel === 'rgb') {
      return sendBuffer(res, 'image/png', name, await sharp(file).removeAlpha().png().toBuffer());
    }
    // channel=a: the alpha channel on black, kept as alpha, so the mask editor can read it back.
    const { data, info } = await sharp(file).ensureAlpha().extractChannel(3).raw().toBuffer({ resolveWithObject: true });
    const rgba = Buffer.alloc(info.width * info.height * 4);
    for (let i = 0; i < info.width * info.height; i++) rgba[i * 4 + 3] = data[i];
    const out = await sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer();
    return sendBuffer(res, 'image/png', name, out);
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, `cannot convert ${name}: not a readable image`);
  }
}

export const viewRoutes: Route[] = [
  {
    method: 'GET',
    path: '/view',
    async handler(req, res, ctx) {
      const file = resolveView(ctx, req.query);
      const channel = req.query.get('channel') ?? 'rgba';
      if (!['rgba', 'rgb', 'a'].includes(channel)) throw new HttpError(400, 'channel must be rgba, rgb or a');
      const preview = req.query.get('preview');
      if (preview !== null || channel !== 'rgba') return reencode(file, res, preview, channel, req.query.get('channel') ?? '');
      const st = await fs.promises.stat(file);
      res.writeHead(200, {
        'Content-Type': contentTypeFor(file),
        'Content-Length': st.size,
        'Content-Disposition': contentDisposition(path.basename(file)),
        'Cache-Control': 'no-cache',
      });
      await sendFile(res, file);
    },
  },
];
