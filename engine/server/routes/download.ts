/** POST /models/download starts a download; progress arrives as `weft.download` WebSocket messages. */
import { HttpError, readJson, sendJson } from '../http.ts';
import type { Route } from '../router.ts';

export const downloadRoutes: Route[] = [
  {
    method: 'POST',
    path: '/models/download',
    async handler(req, res, ctx) {
      sendJson(res, 200, await ctx.downloads.start(await readJson(req)));
    },
  },
  {
    method: 'GET',
    path: '/weft/downloads',
    handler: (_req, res, ctx) => sendJson(res, 200, ctx.downloads.list()),
  },
  {
    method: 'POST',
    path: '/weft/downloads/{id}/cancel',
    handler(req, res, ctx) {
      if (!ctx.downloads.cancel(req.params.id)) throw new HttpError(404, `no running download ${req.params.id}`);
      sendJson(res, 200, ctx.downloads.get(req.params.id));
    },
  },
];
