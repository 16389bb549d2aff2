/** Request/response plumbing shared by every route: bounded bodies, BigInt-exact JSON, errors as values. */
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WeftError } from '../errors.ts';
import { isPlainObject, parseJson, stringifyJson } from '../workflow/json.ts';

/** An error a handler throws to answer with a status and a JSON message instead of a 500. */
export class HttpError extends Error {
  readonly status: number;
  readonly body?: unknown;
  constructor(status: number, message: string, body?: unknown) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.body = body;
  }
}

export interface Req {
  readonly raw: IncomingMessage;
  readonly method: string;
  /** Path without the `/api` alias prefix, not decoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Route parameters (`/history/{id}` → params.id), percent-decoded. */
  params: Record<string, string>;
  /** Bytes limit for this request's body (JSON or upload). */
  readonly limits: { json: number; upload: number };
}

export type Res = ServerResponse;

export function sendJson(res: Res, status: number, body: unknown): void {
  const text = stringifyJson(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

/** ComfyUI answers several POSTs with a bare 200 and no body. */
export function sendEmpty(res: Res, status = 200): void {
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

export function sendError(res: Res, status: number, message: string, extra?: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, extra ?? { error: { type: statusType(status), message, details: '', extra_info: {} } });
}

function statusType(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    default:
      return status >= 500 ? 'server_error' : 'error';
  }
}

/** Reads the whole body, refusing (413) as soon as it exceeds `limit` bytes. */
/** Streams a file as the body (headers already written); settles when the client has it or goes away. */
export async function sendFile(res: Res, file: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = fs.createReadStream(file);
    s.on('error', reject);
    res.on('close', () => {
      s.destroy();
      resolve();
    });
    s.pipe(res);
  });
}

export async function readBody(req: Req, limit: number): Promise<Buffer> {
  const declared = Number(req.raw.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `request body too large: ${declared} bytes (limit ${limit})`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body too large (limit ${limit} bytes)`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Parses a JSON body whatever its Content-Type (ComfyUI's example client sends none).
 * Integers beyond 2^53 arrive as bigint. An empty body reads as `{}`.
 */
export async function readJson(req: Req): Promise<unknown> {
  const buf = await readBody(req, req.limits.json);
  const text = buf.toString('utf8').trim();
  if (text === '') return {};
  try {
    return parseJson(text);
  } catch (e) {
    throw new HttpError(400, e instanceof WeftError ? e.message : 'invalid JSON body');
  }
}

/** readJson, requiring an object at the top. */
export async function readJsonObject(req: Req): Promise<Record<string, unknown>> {
  const v = await readJson(req);
  if (!isPlainObject(v)) throw new HttpError(400, 'expected a JSON object body');
  return v;
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const s = q.get(name);
  if (s === null || s === '') return undefined;
  const n = Number(s);
  if (!Number.isInteger(n)) throw new HttpError(400, `${name} must be an integer, got "${s}"`);
  return n;
}

/** A list of string ids from a JSON body field; anything else is a 400. */
export function idList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new HttpError(400, `${what} must be a list of prompt ids`);
  return v as string[];
}

export function isTruthyFlag(v: unknown): boolean {
  return v === true || v === 'true' || v === '1' || v === 1;
}
