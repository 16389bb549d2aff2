import type { PreviewImage, UiOutput } from '../graph/context.ts';

/** Payloads of the executor's events, shaped like ComfyUI's WebSocket messages (§4.2). */
export interface ExecutorEvents {
  execution_start: { prompt_id: string; timestamp: number };
  execution_cached: { nodes: string[]; prompt_id: string; timestamp: number };
  executing: { node: string | null; display_node: string | null; prompt_id: string };
  progress: { value: number; max: number; prompt_id: string; node: string };
  executed: { node: string; display_node: string; output: UiOutput; prompt_id: string };
  execution_error: ExecutionErrorData;
  execution_interrupted: { prompt_id: string; node_id: string; node_type: string; executed: string[]; timestamp: number };
  execution_success: { prompt_id: string; timestamp: number };
  /** A binary preview (sampler step image); the server sends it as a PREVIEW_IMAGE frame. */
  preview: { prompt_id: string; node: string; image: PreviewImage };
  /** Weft's own: a node's non-fatal warning (ctx.warn). */
  warning: { prompt_id: string; node: string; node_type: string; message: string };
}

export interface ExecutionErrorData {
  prompt_id: string;
  node_id: string;
  node_type: string;
  executed: string[];
  exception_message: string;
  exception_type: string;
  traceback: string[];
  current_inputs: Record<string, unknown[]>;
  current_outputs: string[];
  timestamp: number;
}

export type EventName = keyof ExecutorEvents;
export type AnyListener = <K extends EventName>(type: K, data: ExecutorEvents[K]) => void;

/** A small typed emitter; a throwing listener never breaks a run. */
export class TypedEmitter<E extends object> {
  private readonly listeners = new Map<keyof E, Set<(data: never) => void>>();
  private readonly any = new Set<(type: keyof E, data: E[keyof E]) => void>();

  on<K extends keyof E>(type: K, fn: (data: E[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as (data: never) => void);
    return () => set.delete(fn as (data: never) => void);
  }

  onAny(fn: (type: keyof E, data: E[keyof E]) => void): () => void {
    this.any.add(fn);
    return () => this.any.delete(fn);
  }

  emit<K extends keyof E>(type: K, data: E[K]): void {
    const set = this.listeners.get(type);
    if (set) for (const fn of set) safely(() => (fn as (d: E[K]) => void)(data));
    for (const fn of this.any) safely(() => fn(type, data));
  }
}

function safely(f: () => void): void {
  try {
    f();
  } catch (e) {
    console.error('weft: event listener failed:', e);
  }
}
