/** /prompt, /queue, /history, /interrupt, /free — ComfyUI's shapes — plus Weft's pause/resume/move. */
import { WeftError } from '../../errors.ts';
import { validatePrompt } from '../../validate/index.ts';
import { isPlainObject } from '../../workflow/json.ts';
import { HttpError, idList, intParam, isTruthyFlag, readJsonObject, sendEmpty, sendJson } from '../http.ts';
import type { Route } from '../router.ts';

const ID_MAX = 256;

function optionalString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > ID_MAX) throw new HttpError(400, `${what} must be a non-empty string of at most ${ID_MAX} characters`);
  return v;
}

export const promptRoutes: Route[] = [
  {
    method: 'GET',
    path: '/prompt',
    handler: (_req, res, ctx) => sendJson(res, 200, { exec_info: { queue_remaining: ctx.queue.remaining() } }),
  },
  {
    method: 'POST',
    path: '/prompt',
    async handler(req, res, ctx) {
      const body = await readJsonObject(req);
      if (!('prompt' in body)) {
        const error = { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} };
        return sendJson(res, 400, { error, node_errors: {} });
      }
      const clientId = optionalString(body.client_id, 'client_id');
      const promptId = optionalString(body.prompt_id, 'prompt_id');
      if (body.extra_data !== undefined && !isPlainObject(body.extra_data)) throw new HttpError(400, 'extra_data must be an object');
      const extraData: Record<string, unknown> = { ...((body.extra_data as Record<string, unknown> | undefined) ?? {}) };
      if (clientId) extraData.client_id = clientId;
      const targets = body.partial_execution_targets === undefined || body.partial_execution_targets === null
        ? undefined
        : idList(body.partial_execution_targets, 'partial_execution_targets');
      const v = await validatePrompt(body.prompt, ctx.registry, { folders: ctx.folders, outputs: targets });
      if (!v.ok) return sendJson(res, 400, { error: v.error, node_errors: v.node_errors });
      let queued: { prompt_id: string; number: number };
      try {
        queued = ctx.queue.enqueue(v.prompt, { promptId, extraData, outputs: v.outputs, front: isTruthyFlag(body.front) });
      } catch (e) {
        if (e instanceof WeftError) {
          const error = { type: e.type, message: e.message, details: '', extra_info: {} };
          return sendJson(res, 400, { error, node_errors: {} });
        }
        throw e;
      }
      sendJson(res, 200, { prompt_id: queued.prompt_id, number: queued.number, node_errors: v.node_errors });
    },
  },
  {
    method: 'GET',
    path: '/queue',
    handler: (_req, res, ctx) => sendJson(res, 200, ctx.queue.queueTuples()),
  },
  {
    method: 'POST',
    path: '/queue',
    async handler(req, res, ctx) {
      const body = await readJsonObject(req);
      if (isTruthyFlag(body.clear)) ctx.queue.clearPending();
      if (body.delete !== undefined) ctx.queue.deletePending(idList(body.delete, 'delete'));
      sendEmpty(res);
    },
  },
  {
    method: 'POST',
    path: '/queue/pause',
    handler(_req, res, ctx) {
      ctx.queue.pause();
      sendJson(res, 200, { paused: ctx.queue.paused });
    },
  },
  {
    method: 'POST',
    path: '/queue/resume',
    handler(_req, res, ctx) {
      ctx.queue.resume();
      sendJson(res, 200, { paused: ctx.queue.paused });
    },
  },
  {
    method: 'POST',
    path: '/queue/move',
    async handler(req, res, ctx) {
      const body = await readJsonObject(req);
      const id = optionalString(body.prompt_id, 'prompt_id');
      const index = body.index;
      if (!id || typeof index !== 'number' || !Number.isInteger(index) || index < 0) {
        throw new HttpError(400, 'expected {"prompt_id": string, "index": integer >= 0}');
      }
      if (!ctx.queue.move(id, index)) throw new HttpError(404, `prompt ${id} is not pending`);
      sendJson(res, 200, { queue_pending: ctx.queue.queueTuples().queue_pending.map((t) => t[1]) });
    },
  },
  {
    method: 'GET',
    path: '/history',
    handler(req, res, ctx) {
      const maxItems = intParam(req.query, 'max_items');
      const offset = intParam(req.query, 'offset');
      if (maxItems !== undefined && maxItems < 0) throw new HttpError(400, 'max_items must be >= 0');
      sendJson(res, 200, ctx.queue.history({ maxItems, offset }));
    },
  },
  {
    method: 'GET',
    path: '/history/{id}',
    handler(req, res, ctx) {
      const item = ctx.queue.historyItem(req.params.id);
      sendJson(res, 200, item ? { [req.params.id]: item } : {});
    },
  },
  {
    method: 'POST',
    path: '/history',
    async handler(req, res, ctx) {
      const body = await readJsonObject(req);
      if (isTruthyFlag(body.clear)) ctx.queue.clearHistory();
      if (body.delete !== undefined) ctx.queue.deleteHistory(idList(body.delete, 'delete'));
      sendEmpty(res);
    },
  },
  {
    method: 'POST',
    path: '/interrupt',
    async handler(req, res, ctx) {
      const body = await readJsonObject(req);
      // With a prompt_id only that prompt is stopped, and only if it is the one running (ComfyUI's rule).
      ctx.queue.interrupt(optionalString(body.prompt_id, 'prompt_id'));
      sendEmpty(res);
    },
  },
  {
    method: 'POST',
    path: '/free',
    async handler(req, res, ctx) {
      const body = await readJsonObject(req);
      if (isTruthyFlag(body.free_memory)) ctx.executor.cache.clear();
      if (isTruthyFlag(body.unload_models) || isTruthyFlag(body.free_memory)) await ctx.unloadModels();
      sendEmpty(res);
    },
  },
];
