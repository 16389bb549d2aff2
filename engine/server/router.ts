/** A small path router: `{name}` matches one segment; ComfyUI's `/api` prefix aliases every API route. */
import type { Req, Res } from './http.ts';
import type { ServerContext } from './context.ts';

export type Handler = (req: Req, res: Res, ctx: ServerContext) => Promise<void> | void;

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  handler: Handler;
}

interface Compiled {
  method: string;
  segs: string[];
  handler: Handler;
}

export type Match = { handler: Handler; params: Record<string, string> } | { allowed: string[] } | null;

export class Router {
  private readonly routes: Compiled[] = [];

  add(routes: readonly Route[]): this {
    for (const r of routes) this.routes.push({ method: r.method, segs: r.path.split('/').slice(1), handler: r.handler });
    return this;
  }

  /** The handler for a path (already stripped of `/api`), or the methods it would accept. */
  match(method: string, path: string): Match {
    const segs = path.split('/').slice(1);
    const allowed: string[] = [];
    for (const r of this.routes) {
      const params = matchSegs(r.segs, segs);
      if (!params) continue;
      if (r.method === method) return { handler: r.handler, params };
      allowed.push(r.method);
    }
    return allowed.length ? { allowed } : null;
  }
}

function matchSegs(pattern: string[], segs: string[]): Record<string, string> | null {
  if (pattern.length !== segs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith('{') && p.endsWith('}')) {
      if (segs[i] === '') return null;
      try {
        params[p.slice(1, -1)] = decodeURIComponent(segs[i]);
      } catch {
        return null;
      }
    } else if (p !== segs[i]) return null;
  }
  return params;
}

/** `/api/x` → `/x`; other paths unchanged. */
export function stripApi(path: string): { path: string; prefixed: boolean } {
  if (path === '/api') return { path: '/', prefixed: true };
  return path.startsWith('/api/') ? { path: path.slice(4), prefixed: true } : { path, prefixed: false };
}
