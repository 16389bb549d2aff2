/**
 * Wire types the renderer reads from the engine server: /object_info entries and the WebSocket
 * messages ComfyUI's server sends. Plain types only, shared by renderer code and tests.
 */

/** `[TYPE, options?]` where TYPE is a type name or (legacy combo form) the list of options. */
export type ObjectInfoInput = [string | string[], Record<string, unknown>?];

export interface ObjectInfoNode {
  name: string;
  display_name?: string;
  description?: string;
  category?: string;
  input: {
    required?: Record<string, ObjectInfoInput>;
    optional?: Record<string, ObjectInfoInput>;
    hidden?: Record<string, unknown>;
  };
  input_order?: Record<string, string[]>;
  output?: string[];
  output_is_list?: boolean[];
  output_name?: string[];
  output_node?: boolean;
  deprecated?: boolean;
  experimental?: boolean;
}

export type ObjectInfo = Record<string, ObjectInfoNode>;

/** One file an output node shows, as in ComfyUI's `executed.output.images`. */
export interface ImageRef {
  filename: string;
  subfolder: string;
  type: 'output' | 'input' | 'temp' | string;
}

export interface NodeErrors {
  [nodeId: string]: {
    errors: { type: string; message: string; details: string; extra_info?: { input_name?: string } & Record<string, unknown> }[];
    dependent_outputs?: string[];
    class_type: string;
  };
}

/** The WebSocket text messages the UI reacts to (ComfyUI's names and shapes). */
export type WsMessage =
  | { type: 'status'; data: { status: { exec_info: { queue_remaining: number } }; sid?: string } }
  | { type: 'execution_start'; data: { prompt_id: string } }
  | { type: 'execution_cached'; data: { prompt_id: string; nodes: string[] } }
  | { type: 'executing'; data: { prompt_id: string; node: string | null } }
  | { type: 'progress'; data: { prompt_id: string; node: string; value: number; max: number } }
  | { type: 'executed'; data: { prompt_id: string; node: string; output: { images?: ImageRef[] } & Record<string, unknown> } }
  | { type: 'execution_success'; data: { prompt_id: string } }
  | { type: 'execution_interrupted'; data: { prompt_id: string; node_id: string } }
  | {
      type: 'execution_error';
      data: { prompt_id: string; node_id: string; node_type: string; exception_message: string; exception_type: string; traceback?: string[] };
    }
  | { type: 'weft.download'; data: DownloadState };

/** The server's model download state (engine/server/download.ts), sent as `weft.download`. */
export interface DownloadState {
  id: string;
  folder: string;
  filename: string;
  status: 'downloading' | 'done' | 'error' | 'cancelled';
  received: number;
  total: number | null;
  error?: string;
}

/** An entry of GET /weft/catalogue. */
export interface CatalogueEntry {
  id?: string;
  name?: string;
  folder: string;
  filename: string;
  url?: string;
  size?: number;
  installed: boolean;
  [k: string]: unknown;
}
