/**
 * Model downloads into the right models folder: http(s) only, names checked like every other path,
 * bytes streamed to a hidden `.name.part` (so half a file never shows in model lists), resumed with
 * Range after a failure, checked against sha256 when one is given, then renamed into place.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebStream } from 'node:stream/web';
import { WeftError, errorMessage } from '../errors.ts';
import { safeSegments, type WeftFolders } from '../io/folders.ts';
import { FOLDER_EXTENSIONS, MODEL_EXTENSIONS, MODEL_FOLDERS, canonicalFolder } from '../io/model-paths.ts';
import { checkFileName, ensureDirInside } from './files.ts';
import { HttpError } from './http.ts';

export interface DownloadRequest {
  url: string;
  folder: string;
  filename: string;
  sha256?: string;
}

export interface DownloadState {
  id: string;
  url: string;
  folder: string;
  filename: string;
  status: 'downloading' | 'done' | 'error' | 'cancelled';
  received: number;
  total: number | null;
  /** Bytes already on disk from an earlier attempt that the server agreed to continue. */
  resumed_from: number;
  sha256?: string;
  error?: string;
}

export interface DownloaderOptions {
  folders: WeftFolders;
  /** Called with every state change and, at most every progressMs, with progress. */
  emit: (state: DownloadState) => void;
  progressMs?: number;
}

interface Job {
  state: DownloadState;
  abort: AbortController;
  done: Promise<DownloadState>;
  dest: string;
}

export class Downloader {
  private readonly opts: DownloaderOptions;
  private readonly jobs = new Map<string, Job>();

  constructor(opts: DownloaderOptions) {
    this.opts = opts;
  }

  list(): DownloadState[] {
    return [...this.jobs.values()].map((j) => ({ ...j.state }));
  }

  get(id: string): DownloadState | undefined {
    const j = this.jobs.get(id);
    return j && { ...j.state };
  }

  wait(id: string): Promise<DownloadState> {
    const j = this.jobs.get(id);
    if (!j) return Promise.reject(new WeftError(`no download ${id}`));
    return j.done;
  }

  cancel(id: string): boolean {
    const j = this.jobs.get(id);
    if (!j || j.state.status !== 'downloading') return false;
    j.abort.abort();
    return true;
  }

  /** Checks the request (HttpError 400/409 when refused) and starts the download in the background. */
  async start(req: unknown): Promise<DownloadState> {
    const r = checkRequest(req);
    const key = canonicalFolder(r.folder);
    const segs = safeSegments(r.filename, 'filename');
    segs.forEach((s) => checkFileName(s, 'filename'));
    const dir = await ensureDirInside(this.opts.folders.modelsDir, [MODEL_FOLDERS[key][0], ...segs.slice(0, -1)]);
    const dest = path.join(dir, segs[segs.length - 1]);
    if ([...this.jobs.values()].some((j) => j.dest === dest && j.state.status === 'downloading')) throw new HttpError(409, `${r.filename} is already downloading`);
    if (fs.existsSync(dest)) throw new HttpError(409, `${key}/${r.filename} already exists`);
    const state: DownloadState = { id: randomUUID(), url: r.url, folder: key, filename: segs.join('/'), status: 'downloading', received: 0, total: null, resumed_from: 0 };
    if (r.sha256) state.sha256 = r.sha256.toLowerCase();
    const abort = new AbortController();
    const job: Job = { state, abort, dest, done: Promise.resolve(state) };
    job.done = this.run(job).then(() => ({ ...state }));
    this.jobs.set(state.id, job);
    this.opts.emit({ ...state });
    return { ...state };
  }

  async close(): Promise<void> {
    for (const j of this.jobs.values()) j.abort.abort();
    await Promise.all([...this.jobs.values()].map((j) => j.done));
  }

  private async run(job: Job): Promise<void> {
    const { state, dest } = job;
    const part = path.join(path.dirname(dest), `.${path.basename(dest)}.part`);
    try {
      await this.transfer(job, part);
      const digest = await sha256File(part);
      if (state.sha256 && digest !== state.sha256) {
        await fsp.rm(part, { force: true });
        throw new WeftError(`sha256 mismatch: expected ${state.sha256}, got ${digest}; the download was discarded`);
      }
      state.sha256 = digest;
      if (fs.existsSync(dest)) throw new WeftError(`${state.filename} appeared while downloading; kept the existing file`);
      await fsp.rename(part, dest);
      state.status = 'done';
    } catch (e) {
      state.status = job.abort.signal.aborted ? 'cancelled' : 'error';
      state.error = job.abort.signal.aborted ? 'cancelled' : errorMessage(e);
    }
    this.opts.emit({ ...state });
  }

  /** Fetches into `part`, continuing from its current size when the server honours Range. */
  private async transfer(job: Job, part: string): Promise<void> {
    const { state } = job;
    let offset = 0;
    try {
      const st = await fsp.lstat(part);
      if (st.isFile()) offset = st.size;
      else await fsp.rm(part, { force: true });
    } catch {
      offset = 0;
    }
    let res = await fetch(state.url, { headers: offset ? { Range: `bytes=${offset}-` } : {}, signal: job.abort.signal, redirect: 'follow' });
    if (offset && !(res.status === 206 && contentRangeStarts(res, offset))) {
      // The server ignored or refused the range: start over rather than splice mismatched bytes.
      offset = 0;
      if (res.status !== 200) {
        await res.body?.cancel();
        res = await fetch(state.url, { signal: job.abort.signal, redirect: 'follow' });
      }
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new WeftError(`the server answered HTTP ${res.status} for ${state.url}`);
    }
    if (!res.body) throw new WeftError('the server sent no body');
    state.resumed_from = offset;
    state.received = offset;
    const length = Number(res.headers.get('content-length'));
    const rangeTotal = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
    state.total = rangeTotal ? Number(rangeTotal) : Number.isFinite(length) && res.headers.has('content-length') ? offset + length : null;
    const fh = await fsp.open(part, offset ? 'a' : 'w');
    let last = 0;
    try {
      for await (const chunk of Readable.fromWeb(res.body as unknown as WebStream<Uint8Array>)) {
        await fh.write(chunk as Uint8Array);
        state.received += (chunk as Uint8Array).length;
        if (state.total !== null && state.received > state.total) throw new WeftError('the server sent more bytes than it announced');
        const now = Date.now();
        if (now - last >= (this.opts.progressMs ?? 200)) {
          last = now;
          this.opts.emit({ ...state });
        }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (state.total !== null && state.received !== state.total) throw new WeftError(`the download stopped at ${state.received} of ${state.total} bytes`);
  }
}

function contentRangeStarts(res: Response, offset: number): boolean {
  return new RegExp(`^bytes ${offset}-`).test(res.headers.get('content-range') ?? '');
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function checkRequest(req: unknown): DownloadRequest {
  if (!req || typeof req !== 'object' || Array.isArray(req)) throw new HttpError(400, 'expected {"url", "folder", "filename", "sha256"?}');
  const { url, folder, filename, sha256 } = req as Record<string, unknown>;
  if (typeof url !== 'string' || typeof folder !== 'string' || typeof filename !== 'string') {
    throw new HttpError(400, 'url, folder and filename must be strings');
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new HttpError(400, `invalid url "${url.slice(0, 200)}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new HttpError(400, `only http and https downloads are allowed, not ${u.protocol}`);
  const key = canonicalFolder(folder);
  if (!Object.hasOwn(MODEL_FOLDERS, key)) throw new HttpError(400, `unknown model folder "${folder}"`);
  const exts = Object.hasOwn(FOLDER_EXTENSIONS, key) ? FOLDER_EXTENSIONS[key] : [...MODEL_EXTENSIONS, '.onnx'];
  if (exts === null) throw new HttpError(400, `downloads into ${key} are not supported (it holds directories)`);
  try {
    safeSegments(filename, 'filename');
  } catch (e) {
    throw new HttpError(400, errorMessage(e));
  }
  if (!exts.includes(path.extname(filename).toLowerCase())) throw new HttpError(400, `${key} files must end in ${exts.join(', ')}`);
  if (sha256 !== undefined && (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256))) throw new HttpError(400, 'sha256 must be 64 hex digits');
  return { url, folder, filename, sha256: sha256 as string | undefined };
}
