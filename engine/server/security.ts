/**
 * Who may talk to the server. ComfyUI checks Origin against Host only when both are present, so a
 * DNS-rebinding page (Host == Origin == attacker.example → 127.0.0.1) passes; here Host must be in
 * an allow-list, a present Origin must be allowed, and off-loopback every request needs the token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

export interface SecurityOptions {
  /** The address the server listens on. */
  host: string;
  port: number;
  /** Required on every request when set; always set off-loopback. */
  token?: string;
  /** Extra allowed Origin values, exactly as browsers send them ("https://app.example:8443"). */
  allowedOrigins?: readonly string[];
  /** Extra allowed Host header values ("myhost" or "myhost:8188"). */
  allowedHosts?: readonly string[];
}

export interface Verdict {
  ok: boolean;
  status?: number;
  message?: string;
  /** The token came from ?token= on a page load: remember it in a cookie for the UI's later requests. */
  setCookie?: boolean;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
export const TOKEN_COOKIE = 'weft_token';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The token a server must require: the given one, or a fresh one when it listens beyond loopback. */
export function requiredToken(host: string, token: string | undefined): { token?: string; generated: boolean } {
  if (token) return { token, generated: false };
  return isLoopback(host) ? { generated: false } : { token: newToken(), generated: true };
}

/** "name:port" / "[v6]:port" → lower-cased name and port ('' when absent). */
function splitHost(value: string): { name: string; port: string } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(value.trim());
  return m ? { name: m[1].toLowerCase(), port: m[2] ?? '' } : null;
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export class Guard {
  private readonly opts: SecurityOptions;
  private readonly hostNames: Set<string>;
  private readonly anyHost: boolean;
  private readonly origins: Set<string>;
  private readonly tokenDigest?: Buffer;

  constructor(opts: SecurityOptions) {
    this.opts = opts;
    this.anyHost = isWildcard(opts.host);
    this.hostNames = new Set(LOOPBACK_NAMES);
    if (!isWildcard(opts.host)) this.hostNames.add(bracket(opts.host.toLowerCase()));
    this.origins = new Set(opts.allowedOrigins ?? []);
    if (opts.token) this.tokenDigest = digest(opts.token);
  }

  get token(): string | undefined {
    return this.opts.token;
  }

  private hostAllowed(value: string | undefined): boolean {
    if (!value) return false;
    const extra = this.opts.allowedHosts ?? [];
    if (extra.includes(value.toLowerCase())) return true;
    const h = splitHost(value);
    if (!h) return false;
    if (extra.includes(h.name)) return true;
    // Behind a wildcard bind the name clients use is unknown; the token is what protects it there.
    if (this.anyHost) return true;
    return this.hostNames.has(h.name) && (h.port === '' ? this.opts.port === 80 : Number(h.port) === this.opts.port);
  }

  private originAllowed(origin: string, hostHeader: string): boolean {
    if (this.origins.has(origin)) return true;
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false; // includes "null" (sandboxed frames, file://)
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    // Same-origin requests from the UI this server serves: the page's origin is the Host it asked for.
    return u.host.toLowerCase() === hostHeader.toLowerCase();
  }

  private tokenFrom(headers: IncomingHttpHeaders, query: URLSearchParams): { value?: string; viaQuery: boolean } {
    const auth = headers.authorization;
    if (auth && /^Bearer\s+/i.test(auth)) return { value: auth.replace(/^Bearer\s+/i, '').trim(), viaQuery: false };
    const q = query.get('token');
    if (q !== null) return { value: q, viaQuery: true };
    const cookie = headers.cookie
      ?.split(';')
      .map((c) => c.trim())
      .find((c) => c.startsWith(`${TOKEN_COOKIE}=`));
    return { value: cookie ? decodeURIComponent(cookie.slice(TOKEN_COOKIE.length + 1)) : undefined, viaQuery: false };
  }

  check(headers: IncomingHttpHeaders, query: URLSearchParams): Verdict {
    const host = headers.host;
    if (!this.hostAllowed(host)) return { ok: false, status: 403, message: `Host "${host ?? ''}" is not allowed` };
    const origin = headers.origin;
    // A missing Origin means a non-browser client (curl, scripts): browsers always send it cross-site.
    if (origin !== undefined && !this.originAllowed(origin, host!)) return { ok: false, status: 403, message: `Origin "${origin}" is not allowed` };
    if (!this.tokenDigest) return { ok: true };
    const t = this.tokenFrom(headers, query);
    if (t.value === undefined) return { ok: false, status: 401, message: 'this server requires a token (Authorization: Bearer <token> or ?token=)' };
    if (!timingSafeEqual(digest(t.value), this.tokenDigest)) return { ok: false, status: 401, message: 'invalid token' };
    return { ok: true, setCookie: t.viaQuery };
  }

  cookieHeader(): string {
    return `${TOKEN_COOKIE}=${encodeURIComponent(this.opts.token ?? '')}; HttpOnly; SameSite=Strict; Path=/`;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Headers on every response: no MIME sniffing, no framing, no referrer leaks. */
export function baseHeaders(res: ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  // API answers are data, never documents: a sandbox stops any HTML that slips through from running.
  res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'; sandbox");
}

/** The policy for the served UI: only its own scripts, connections back to this server. */
export function uiCsp(hostHeader: string): string {
  const ws = hostHeader ? ` ws://${hostHeader} wss://${hostHeader}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${ws}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
