/** The built renderer served at `/`: files under staticDir only, typed, with the UI's CSP on pages. */
import fs from 'node:fs';
import path from 'node:path';
import { HttpError, sendFile, type Req, type Res } from '../http.ts';
import { uiCsp } from '../security.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

function inside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The file for a URL path, or null (404) for anything missing, hidden, escaping or not a regular file. */
function locate(staticDir: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segs = decoded.split('/').filter((s) => s !== '');
  if (segs.some((s) => s === '..' || s.startsWith('.'))) return null;
  if (segs.length === 0 || decoded.endsWith('/')) segs.push('index.html');
  let root: string;
  let real: string;
  try {
    root = fs.realpathSync(staticDir);
    real = fs.realpathSync(path.join(root, ...segs));
  } catch {
    return null;
  }
  if (!inside(real, root)) return null;
  try {
    return fs.statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}

export async function serveStatic(req: Req, res: Res, staticDir: string | undefined): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
  if (req.path === '/favicon.ico' && (!staticDir || !locate(staticDir, req.path))) {
    res.writeHead(204);
    res.end();
    return;
  }
  if (!staticDir) throw new HttpError(404, req.path === '/' ? 'no UI is built into this server; the API is available' : 'not found');
  const file = locate(staticDir, req.path);
  if (!file) throw new HttpError(404, 'not found');
  const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  const st = fs.statSync(file);
  const headers: Record<string, string | number> = { 'Content-Type': type, 'Content-Length': st.size, 'Cache-Control': 'no-cache' };
  // The UI's own files (pages and worker scripts alike) get its policy: scripts from here, sockets back to here.
  headers['Content-Security-Policy'] = uiCsp(req.raw.headers.host ?? '');
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await sendFile(res, file);
}
