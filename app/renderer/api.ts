/**
 * HTTP client for the engine server (ComfyUI's routes). Same origin: the server serves this UI, and
 * in Electron the window loads it from that server too, so the token cookie covers every request.
 */
import type { ApiPrompt } from '../../engine/workflow/api.ts';
import type { CatalogueEntry, DownloadState, ImageRef, NodeErrors, ObjectInfo } from '../shared/wire.ts';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const err = (body as { error?: { message?: string } } | null)?.error;
    throw new ApiError(err?.message ?? `${res.status} ${res.statusText}`, res.status, body);
  }
  return body as T;
}

export interface QueueResponse {
  prompt_id: string;
  number: number;
  node_errors: NodeErrors;
}

export interface RawHistoryItem {
  prompt: [number, string, ApiPrompt, { extra_pnginfo?: { workflow?: unknown } }, string[]];
  outputs: Record<string, { images?: ImageRef[] }>;
  status?: { status_str?: string; completed?: boolean };
}

export function createApi(base = '') {
  const get = <T>(path: string) => fetch(base + path).then((r) => json<T>(r));
  const post = <T>(path: string, body: unknown) =>
    fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((r) => json<T>(r));
  return {
    objectInfo: () => get<ObjectInfo>('/object_info'),
    /** preview_method: ComfyUI's per-prompt preview choice ('auto', 'latent2rgb', 'none', …) in extra_data. */
    queuePrompt: (prompt: ApiPrompt, clientId: string, workflow: unknown, previewMethod = 'auto') =>
      post<QueueResponse>('/prompt', { prompt, client_id: clientId, extra_data: { extra_pnginfo: { workflow }, preview_method: previewMethod } }),
    queue: () => get<{ queue_running: unknown[][]; queue_pending: unknown[][] }>('/queue'),
    deleteFromQueue: (ids: string[]) => post<unknown>('/queue', { delete: ids }),
    clearQueue: () => post<unknown>('/queue', { clear: true }),
    interrupt: () => post<unknown>('/interrupt', {}),
    history: (max = 50) => get<Record<string, RawHistoryItem>>(`/history?max_items=${max}`),
    clearHistory: () => post<unknown>('/history', { clear: true }),
    models: (folder: string) => get<string[]>(`/models/${encodeURIComponent(folder)}`),
    weftInfo: () => get<Record<string, unknown>>('/weft/info'),
    catalogue: () => get<CatalogueEntry[]>('/weft/catalogue'),
    downloadModel: (entry: CatalogueEntry) =>
      post<DownloadState>('/models/download', { folder: entry.folder, filename: entry.filename, url: entry.url, sha256: entry.sha256 }),
    viewUrl: (ref: ImageRef) =>
      `${base}/view?${new URLSearchParams({ filename: ref.filename, subfolder: ref.subfolder ?? '', type: ref.type ?? 'output' })}`,
    async uploadImage(file: Blob, name: string): Promise<{ name: string; subfolder: string; type: string }> {
      const form = new FormData();
      form.append('image', file, name);
      form.append('overwrite', 'false');
      return fetch(`${base}/upload/image`, { method: 'POST', body: form }).then((r) => json(r));
    },
    /** Example workflows shipped next to the renderer bundle (written by scripts/build-renderer.mjs). */
    examples: () => get<{ name: string; file: string; description?: string }[]>('/workflows/index.json').catch(() => []),
    example: (file: string) => get<unknown>(`/workflows/${encodeURIComponent(file)}`),
  };
}

export type Api = ReturnType<typeof createApi>;
