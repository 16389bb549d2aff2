/** Read-only descriptions: node definitions, models, system stats, features, Weft's info and catalogue. */
import os from 'node:os';
import { nodeInfo } from '../../graph/registry.ts';
import { MODEL_FOLDERS, canonicalFolder } from '../../io/model-paths.ts';
import { candidatesFor, platformInfo } from '../../runtime/providers.ts';
import { CATALOGUE } from '../catalogue.ts';
import type { ServerContext } from '../context.ts';
import { HttpError, sendJson } from '../http.ts';
import type { Route } from '../router.ts';

/** The ComfyUI server version whose API this server follows (research note, §4). */
export const COMFY_API_VERSION = '0.8.0';

function knownFolder(name: string): string {
  const key = canonicalFolder(name);
  if (!Object.hasOwn(MODEL_FOLDERS, key)) throw new HttpError(404, `unknown model folder "${name}"`);
  return key;
}

const MiB = 1024 ** 2;

/**
 * What the model runtime would run on. ModelService exposes no chosen provider until a model has loaded
 * (and always starts from 'auto'), so this reports auto's first candidate for this platform; a host
 * without a model runtime reports null rather than a guess.
 */
async function runtimeInfo(ctx: ServerContext): Promise<Record<string, unknown>> {
  const models = (ctx.executor.services as { models?: { budgetBytes?: number } }).models;
  if (!models) return { execution_provider: null };
  try {
    const { candidates } = candidatesFor('auto', await platformInfo());
    return { execution_provider: candidates[0] ?? 'cpu', execution_provider_candidates: candidates, model_budget_mb: Math.round((models.budgetBytes ?? 0) / MiB) };
  } catch {
    return { execution_provider: null };
  }
}

export const infoRoutes: Route[] = [
  {
    method: 'GET',
    path: '/object_info',
    handler: (_req, res, ctx) => sendJson(res, 200, ctx.registry.objectInfo(ctx.folders)),
  },
  {
    method: 'GET',
    path: '/object_info/{class}',
    handler(req, res, ctx) {
      const def = ctx.registry.get(req.params.class);
      sendJson(res, 200, def ? { [def.name]: nodeInfo(def, ctx.folders) } : {});
    },
  },
  {
    method: 'GET',
    path: '/embeddings',
    handler: (_req, res, ctx) => sendJson(res, 200, ctx.folders.listModels('embeddings').map((f) => f.replace(/\.[^./]*$/, ''))),
  },
  {
    method: 'GET',
    path: '/models',
    handler: (_req, res) => sendJson(res, 200, Object.keys(MODEL_FOLDERS)),
  },
  {
    method: 'GET',
    path: '/models/{folder}',
    handler: (req, res, ctx) => sendJson(res, 200, ctx.folders.listModels(knownFolder(req.params.folder))),
  },
  {
    method: 'GET',
    path: '/system_stats',
    handler(_req, res, ctx) {
      const total = os.totalmem();
      const free = os.freemem();
      sendJson(res, 200, {
        system: {
          os: process.platform === 'win32' ? 'nt' : 'posix',
          ram_total: total,
          ram_free: free,
          comfyui_version: COMFY_API_VERSION,
          weft_version: ctx.version,
          required_frontend_version: '',
          installed_templates_version: '',
          required_templates_version: '',
          python_version: `Node.js ${process.version}`,
          pytorch_version: 'none (ONNX Runtime)',
          embedded_python: false,
          // ComfyUI lists the process argv here; it can hold paths and secrets, so Weft does not.
          argv: [],
        },
        devices: [{ name: 'cpu', type: 'cpu', index: null, vram_total: total, vram_free: free, torch_vram_total: 0, torch_vram_free: 0 }],
      });
    },
  },
  {
    method: 'GET',
    path: '/features',
    handler: (_req, res, ctx) => sendJson(res, 200, ctx.features()),
  },
  {
    method: 'GET',
    path: '/extensions',
    handler: (_req, res) => sendJson(res, 200, []),
  },
  {
    method: 'GET',
    path: '/weft/info',
    async handler(_req, res, ctx) {
      const extra = await ctx.info();
      sendJson(res, 200, {
        name: 'weft',
        version: ctx.version,
        comfyui_api: COMFY_API_VERSION,
        node_types: ctx.registry.names().length,
        paused: ctx.queue.paused,
        models_dir: ctx.folders.modelsDir,
        cache_size_mb: Math.round(ctx.executor.cache.maxBytes / MiB),
        ...(await runtimeInfo(ctx)),
        ...extra,
      });
    },
  },
  {
    method: 'GET',
    path: '/weft/catalogue',
    handler(_req, res, ctx) {
      const installed = new Map<string, Set<string>>();
      const has = (folder: string, file: string) => {
        let s = installed.get(folder);
        if (!s) installed.set(folder, (s = new Set(ctx.folders.listModels(folder))));
        return s.has(file);
      };
      sendJson(res, 200, CATALOGUE.map((m) => ({ ...m, installed: has(m.folder, m.filename) })));
    },
  },
];
