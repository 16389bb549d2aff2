import type { Executor } from '../execute/executor.ts';
import type { PromptQueue } from '../execute/queue.ts';
import type { NodeRegistry } from '../graph/registry.ts';
import type { WeftFolders } from '../io/folders.ts';
import type { Downloader } from './download.ts';
import type { WsHub } from './ws.ts';

/** What every route handler can reach. */
export interface ServerContext {
  readonly registry: NodeRegistry;
  readonly folders: WeftFolders;
  readonly executor: Executor;
  readonly queue: PromptQueue;
  readonly hub: WsHub;
  readonly downloads: Downloader;
  readonly version: string;
  readonly maxUploadBytes: number;
  readonly staticDir?: string;
  /** Weft's /weft/info extras (execution provider, …) from the composition root. */
  readonly info: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** POST /free {unload_models}: the model runtime's unload, when one is attached. */
  readonly unloadModels: () => void | Promise<void>;
  /** The server's feature flags (GET /features and the WS feature_flags reply). */
  readonly features: () => Record<string, unknown>;
}
