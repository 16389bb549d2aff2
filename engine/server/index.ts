/**
 * Weft's ComfyUI-compatible HTTP + WebSocket server. It owns no node types: the composition root
 * passes the registry (engine never imports nodes/). Safe by default: 127.0.0.1, Host/Origin
 * allow-list, and a token whenever it listens beyond loopback.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Executor } from '../execute/executor.ts';
import { PromptQueue } from '../execute/queue.ts';
import type { EngineServices } from '../graph/context.ts';
import type { NodeRegistry } from '../graph/registry.ts';
import { createFolders, type WeftFolders } from '../io/folders.ts';
import { errorMessage } from '../errors.ts';
import type { ServerContext } from './context.ts';
import { Downloader } from './download.ts';
import { HttpError, sendError, type Req } from './http.ts';
import { Router, stripApi } from './router.ts';
import { downloadRoutes } from './routes/download.ts';
import { infoRoutes } from './routes/info.ts';
import { promptRoutes } from './routes/prompt.ts';
import { serveStatic } from './routes/static.ts';
import { uploadRoutes } from './routes/upload.ts';
import { viewRoutes } from './routes/view.ts';
import { Guard, baseHeaders, isWildcard, requiredToken } from './security.ts';
import { WsHub } from './ws.ts';

export { CATALOGUE, type CatalogueEntry } from './catalogue.ts';
export type { DownloadState } from './download.ts';
export { previewFrame, PREVIEW_IMAGE, IMAGE_JPEG, IMAGE_PNG } from './ws.ts';

export interface ServerOptions {
  registry: NodeRegistry;
  /** Default 127.0.0.1. Any other address requires a token (one is generated and printed if absent). */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Either ready folders, or the four directories (plus extra_model_paths.yaml files). */
  folders?: WeftFolders;
  modelsDir?: string;
  inputDir?: string;
  outputDir?: string;
  tempDir?: string;
  extraModelPaths?: string | string[];
  /** Services for nodes; default {folders}. */
  services?: EngineServices;
  /** A queue (and its executor) built by the caller; otherwise one is created here and closed with the server. */
  queue?: PromptQueue;
  executor?: Executor;
  /** Where the created queue persists pending prompts and history across restarts. */
  queueFile?: string;
  startPaused?: boolean;
  token?: string;
  allowedOrigins?: string[];
  allowedHosts?: string[];
  /** The built renderer, served at `/`. */
  staticDir?: string;
  /** Upload limit in bytes (default 50 MiB → 413 beyond). */
  maxUploadBytes?: number;
  /** JSON body limit in bytes (default 32 MiB). */
  maxJsonBytes?: number;
  /** Extra fields for GET /weft/info (execution provider, …). */
  info?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Called by POST /free to unload models, when a model runtime is attached. */
  unloadModels?: () => void | Promise<void>;
  /** Where startup lines go (the CLI passes its io). */
  io?: { stdout?: { write(s: string): unknown }; stderr?: { write(s: string): unknown } };
}

export interface WeftServer {
  /** http://host:port, usable by clients on this machine. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The token clients must send, when one is required. */
  readonly token?: string;
  readonly queue: PromptQueue;
  readonly executor: Executor;
  readonly folders: WeftFolders;
  readonly hub: WsHub;
  readonly downloads: Downloader;
  readonly http: http.Server;
  close(): Promise<void>;
}

function readVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function resolveFolders(o: ServerOptions): WeftFolders {
  if (o.folders) return o.folders;
  if (!o.modelsDir || !o.inputDir || !o.outputDir || !o.tempDir) {
    throw new Error('startServer needs `folders` or all of modelsDir, inputDir, outputDir, tempDir');
  }
  return createFolders({ modelsDir: o.modelsDir, inputDir: o.inputDir, outputDir: o.outputDir, tempDir: o.tempDir, extraModelPaths: o.extraModelPaths });
}

const router = new Router().add([...promptRoutes, ...downloadRoutes, ...infoRoutes, ...viewRoutes, ...uploadRoutes]);

export async function startServer(opts: ServerOptions): Promise<WeftServer> {
  const host = opts.host ?? '127.0.0.1';
  const folders = resolveFolders(opts);
  if (opts.queue && !opts.executor) throw new Error('startServer: pass the executor that runs the given queue (POST /free clears its cache)');
  const executor = opts.executor ?? new Executor({ registry: opts.registry, services: opts.services ?? { folders } });
  const ownQueue = !opts.queue;
  const queue = opts.queue ?? new PromptQueue({ executor, file: opts.queueFile, paused: opts.startPaused });
  const maxUpload = opts.maxUploadBytes ?? 50 * 1024 * 1024;
  const limits = { json: opts.maxJsonBytes ?? 32 * 1024 * 1024, upload: maxUpload };
  const { token, generated } = requiredToken(host, opts.token);
  if (generated) opts.io?.stderr?.write(`weft serve: listening beyond loopback, so a token is required: ${token}\n`);
  const features = () => ({ supports_preview_metadata: false, max_upload_size: maxUpload, extension: {}, weft: { downloads: true, queue_pause: true, queue_move: true } });
  const hub = new WsHub(queue, features);
  const downloads = new Downloader({ folders, emit: (s) => hub.send('weft.download', s) });
  const ctx: ServerContext = {
    registry: opts.registry,
    folders,
    executor,
    queue,
    hub,
    downloads,
    version: readVersion(),
    maxUploadBytes: maxUpload,
    staticDir: opts.staticDir,
    info: opts.info ?? (() => ({})),
    unloadModels: opts.unloadModels ?? (() => {}),
    features,
  };

  let guard: Guard | undefined;
  const explicitOrigins = new Set(opts.allowedOrigins ?? []);
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e) => {
      console.error('weft server: unhandled', e);
      sendError(res, 500, 'internal server error');
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    baseHeaders(res);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendError(res, 400, 'invalid request URL');
    }
    if (!guard) return sendError(res, 503, 'the server is starting');
    const verdict = guard.check(req.headers, url.searchParams);
    if (!verdict.ok) return sendError(res, verdict.status!, verdict.message!);
    if (verdict.setCookie) res.setHeader('Set-Cookie', guard.cookieHeader());
    const origin = req.headers.origin;
    // Only origins the user listed get CORS; the UI served from here is same-origin and needs none.
    if (origin && explicitOrigins.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, POST, DELETE', 'Access-Control-Allow-Headers': 'Content-Type, Authorization', 'Access-Control-Max-Age': '600' });
        res.end();
        return;
      }
    }
    const method = req.method ?? 'GET';
    const { path, prefixed } = stripApi(url.pathname);
    const r: Req = { raw: req, method, path, query: url.searchParams, params: {}, limits };
    try {
      const m = router.match(method === 'HEAD' ? 'GET' : method, path);
      if (m && 'handler' in m) {
        r.params = m.params;
        await m.handler(r, res, ctx);
      } else if (m) {
        res.setHeader('Allow', m.allowed.join(', '));
        throw new HttpError(405, `${method} is not allowed on ${path}`);
      } else if (prefixed) {
        throw new HttpError(404, `no API route ${path}`);
      } else {
        await serveStatic(r, res, opts.staticDir);
      }
    } catch (e) {
      if (e instanceof HttpError) {
        // A refused body may still be streaming in: close the connection rather than read it all.
        if (e.status === 413) res.setHeader('Connection', 'close');
        return sendError(res, e.status, e.message, e.body);
      }
      console.error(`weft server: ${method} ${path} failed:`, e);
      sendError(res, 500, `internal error: ${errorMessage(e)}`);
    } finally {
      // A refused body (413, 400) may still be arriving; stop reading it instead of keeping the socket busy.
      if (!req.complete) req.resume();
    }
  }

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      socket.destroy();
      return;
    }
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (stripApi(url.pathname).path !== '/ws') return refuse(404, 'Not Found');
    const verdict = guard?.check(req.headers, url.searchParams) ?? { ok: false, status: 503 };
    if (!verdict.ok) return refuse(verdict.status!, verdict.status === 401 ? 'Unauthorized' : verdict.status === 503 ? 'Service Unavailable' : 'Forbidden');
    hub.accept(req, socket, head, url.searchParams.get('clientId'));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  guard = new Guard({ host, port, token, allowedOrigins: opts.allowedOrigins, allowedHosts: opts.allowedHosts });
  const shown = isWildcard(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${port}`;
  opts.io?.stderr?.write(`weft serve: listening on ${url}\n`);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    host,
    token,
    queue,
    executor,
    folders,
    hub,
    downloads,
    http: server,
    close() {
      closing ??= (async () => {
        hub.close();
        await downloads.close();
        if (ownQueue) await queue.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
