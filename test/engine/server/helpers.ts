/** A real server on 127.0.0.1:0 over temp folders, with the real image nodes plus a few test-only nodes. */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { defineNode } from '../../../engine/graph/node.ts';
import { InterruptedError } from '../../../engine/errors.ts';
import { startServer, type ServerOptions, type WeftServer } from '../../../engine/server/index.ts';
import { createRegistry } from '../../../nodes/index.ts';

/** Output node that fails: the server must report it and keep serving. */
const Throws = defineNode({
  name: 'WeftTestThrows',
  category: 'testing',
  inputs: { required: { message: { type: 'STRING', default: 'boom' } } },
  outputs: [],
  outputNode: true,
  run({ message }) {
    throw new Error(message);
  },
});

/** Output node that reports progress with a JPEG preview each step and waits between steps until interrupted or done. */
const Steps = defineNode({
  name: 'WeftTestSteps',
  category: 'testing',
  inputs: { required: { steps: { type: 'INT', default: 3, min: 1, max: 100000 }, delay_ms: { type: 'INT', default: 0, min: 0, max: 10000 } } },
  outputs: [],
  outputNode: true,
  async run({ steps, delay_ms }, ctx) {
    const jpeg = await sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 255, g: 0, b: 0 } } }).jpeg().toBuffer();
    for (let i = 1; i <= steps; i++) {
      await new Promise((r) => setTimeout(r, delay_ms));
      if (ctx.signal.aborted) throw new InterruptedError();
      ctx.progress(i, steps, { format: 'JPEG', data: new Uint8Array(jpeg) });
    }
    return { ui: { text: [`${steps} steps`] } };
  },
});

/** Output node echoing a 64-bit seed, to check integers beyond 2^53 survive the API exactly. */
const Seed = defineNode({
  name: 'WeftTestSeed',
  category: 'testing',
  inputs: { required: { seed: { type: 'INT', default: 0, min: 0, max: 18446744073709551615n, big: true } } },
  outputs: [],
  outputNode: true,
  run({ seed }) {
    return { ui: { seed: [String(seed)] } };
  },
});

export function testRegistry() {
  return createRegistry().register(Throws, Steps, Seed);
}

export interface Dirs {
  root: string;
  modelsDir: string;
  inputDir: string;
  outputDir: string;
  tempDir: string;
}

export function makeDirs(): Dirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-server-'));
  const d = { root, modelsDir: path.join(root, 'models'), inputDir: path.join(root, 'input'), outputDir: path.join(root, 'output'), tempDir: path.join(root, 'temp') };
  for (const p of [d.modelsDir, d.inputDir, d.outputDir, d.tempDir]) fs.mkdirSync(p, { recursive: true });
  return d;
}

export async function start(extra: Partial<ServerOptions> = {}, dirs: Dirs = makeDirs()): Promise<{ server: WeftServer; dirs: Dirs; stop: () => Promise<void> }> {
  const server = await startServer({ registry: testRegistry(), ...dirs, ...extra });
  return {
    server,
    dirs,
    async stop() {
      await server.close();
      fs.rmSync(dirs.root, { recursive: true, force: true });
    },
  };
}

/** A small RGBA PNG with distinct pixels (alpha varies) for upload and round-trip checks. */
export async function samplePng(width = 4, height = 3): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) px.set([(i * 40) % 256, 200 - i * 10, 30 + i * 5, 255 - i * 15], i * 4);
  return sharp(px, { raw: { width, height, channels: 4 } }).png().toBuffer();
}

export async function rawPixels(bytes: Uint8Array): Promise<{ data: Buffer; channels: number; width: number; height: number }> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels, width: info.width, height: info.height };
}

export async function upload(url: string, bytes: Uint8Array, name: string, fields: Record<string, string> = {}, route = '/upload/image'): Promise<Response> {
  const form = new FormData();
  form.set('image', new Blob([new Uint8Array(bytes)]), name);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return fetch(url + route, { method: 'POST', body: form });
}

export interface WsMessage {
  type: string;
  data: Record<string, any>;
}

/** A WebSocket client that records every message and lets a test wait for one. */
export class WsClient {
  readonly ws: WebSocket;
  readonly messages: WsMessage[] = [];
  readonly binary: Buffer[] = [];
  private waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.binary.push(data as Buffer);
      else this.messages.push(JSON.parse(String(data)) as WsMessage);
      for (const w of this.waiters) w();
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const c = new WsClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  /** Resolves with the first recorded message matching `pred` (past or future); rejects after `ms`. */
  waitFor(pred: (m: WsMessage) => boolean, ms = 10000): Promise<WsMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.messages.find(pred);
        if (!hit) return false;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== onMsg);
        resolve(hit);
        return true;
      };
      const onMsg = () => void check();
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== onMsg);
        reject(new Error(`timed out; got ${this.messages.map((m) => m.type).join(',')}`));
      }, ms);
      if (!check()) this.waiters.push(onMsg);
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

export function wsUrl(httpUrl: string, clientId: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/ws?clientId=${encodeURIComponent(clientId)}`;
}

export const done = (id: string) => (m: WsMessage) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === id;

export interface RawResponse {
  status: number;
  headers: import('node:http').IncomingHttpHeaders;
  body: Buffer;
  json: () => any;
}

/** A request with full control over headers (Host, Origin, none at all), which fetch does not give. */
export function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['Content-Length'] = Buffer.byteLength(opts.body);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET', headers, setHost: !('Host' in headers) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body.toString()) });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
