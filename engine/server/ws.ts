/**
 * The WebSocket side: clients keyed by their clientId (ComfyUI's sid), and the queue's events
 * forwarded with ComfyUI's addressing — execution events only to the prompt's client (dropped when
 * the prompt has none), progress/previews/interrupts to that client or to everyone, status to all.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { PromptQueue, QueueEvents } from '../execute/queue.ts';
import { stringifyJson } from '../workflow/json.ts';

/** ComfyUI's protocol.py BinaryEventTypes.PREVIEW_IMAGE and its image type codes. */
export const PREVIEW_IMAGE = 1;
export const IMAGE_JPEG = 1;
export const IMAGE_PNG = 2;

/** Past this much unsent data a slow client stops getting previews; they are droppable, results are not. */
const PREVIEW_BACKLOG_BYTES = 8 * 1024 * 1024;
const CLIENT_ID_MAX = 256;

/** Events only the prompt's own client receives, and only when the prompt named one. */
const CLIENT_ONLY = new Set(['execution_start', 'execution_cached', 'executing', 'executed', 'execution_error', 'execution_success']);

/** The 8-byte header ComfyUI puts before preview bytes: event type, then image type, big-endian uint32. */
export function previewFrame(format: 'JPEG' | 'PNG', data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(PREVIEW_IMAGE, 0);
  head.writeUInt32BE(format === 'PNG' ? IMAGE_PNG : IMAGE_JPEG, 4);
  return Buffer.concat([head, data]);
}

export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly clients = new Map<string, Set<WebSocket>>();
  private readonly queue: PromptQueue;
  private readonly features: () => Record<string, unknown>;
  private running: { promptId: string; node: string | null } | null = null;
  private readonly detach: () => void;

  constructor(queue: PromptQueue, features: () => Record<string, unknown>) {
    this.queue = queue;
    this.features = features;
    this.detach = queue.events.onAny((type, data) => this.forward(type, data as QueueEvents[keyof QueueEvents]));
  }

  accept(req: IncomingMessage, socket: Duplex, head: Buffer, requested: string | null): void {
    const sid = requested && requested.length <= CLIENT_ID_MAX ? requested : randomUUID().replaceAll('-', '');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, sid));
  }

  private connected(ws: WebSocket, sid: string): void {
    let set = this.clients.get(sid);
    if (!set) this.clients.set(sid, (set = new Set()));
    set.add(ws);
    let first = true;
    ws.on('message', (raw, isBinary) => {
      const wasFirst = first;
      first = false;
      if (isBinary || !wasFirst) return;
      // ComfyUI answers a client's opening feature_flags message with the server's flags.
      try {
        const msg = JSON.parse(String(raw)) as { type?: unknown };
        if (msg?.type === 'feature_flags') this.sendTo(ws, 'feature_flags', this.features());
      } catch {
        /* not JSON: ignored, as ComfyUI does */
      }
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      set!.delete(ws);
      if (set!.size === 0 && this.clients.get(sid) === set) this.clients.delete(sid);
    });
    this.sendTo(ws, 'status', { status: { exec_info: { queue_remaining: this.queue.remaining() } }, sid });
    // A client reconnecting mid-run learns which node is executing, as in ComfyUI.
    const r = this.running;
    if (r?.node && this.clientFor(r.promptId) === sid) this.sendTo(ws, 'executing', { node: r.node, display_node: r.node, prompt_id: r.promptId });
  }

  /** The client that queued a prompt: POST /prompt stores client_id in extra_data, as ComfyUI does. */
  clientFor(promptId: string): string | undefined {
    const running = this.queue.running();
    const extra =
      running?.prompt_id === promptId
        ? running.extra_data
        : (this.queue.historyItem(promptId)?.prompt[3] ?? this.queue.pending().find((i) => i.prompt_id === promptId)?.extra_data);
    const c = extra?.client_id;
    return typeof c === 'string' ? c : undefined;
  }

  private forward(type: keyof QueueEvents, data: QueueEvents[keyof QueueEvents]): void {
    if (type === 'status') {
      this.send('status', data);
      return;
    }
    const promptId = (data as { prompt_id: string }).prompt_id;
    const sid = this.clientFor(promptId);
    if (type === 'executing') {
      const node = (data as QueueEvents['executing']).node;
      this.running = node === null ? null : { promptId, node };
    }
    if (type === 'preview') {
      const p = data as QueueEvents['preview'];
      this.sendBinary(previewFrame(p.image.format, p.image.data), sid);
    } else if (type === 'warning') {
      this.send('weft.warning', data, sid);
    } else if (!CLIENT_ONLY.has(type) || sid) {
      this.send(type, data, sid);
    }
  }

  /** A JSON message to one client id, or to every client when `sid` is undefined. */
  send(type: string, data: unknown, sid?: string): void {
    const text = stringifyJson({ type, data });
    for (const ws of this.targets(sid)) if (ws.readyState === ws.OPEN) ws.send(text);
  }

  sendBinary(frame: Buffer, sid?: string): void {
    for (const ws of this.targets(sid)) if (ws.readyState === ws.OPEN && ws.bufferedAmount < PREVIEW_BACKLOG_BYTES) ws.send(frame);
  }

  private targets(sid: string | undefined): Iterable<WebSocket> {
    if (sid === undefined) return [...this.clients.values()].flatMap((s) => [...s]);
    return this.clients.get(sid) ?? [];
  }

  private sendTo(ws: WebSocket, type: string, data: unknown): void {
    if (ws.readyState === ws.OPEN) ws.send(stringifyJson({ type, data }));
  }

  get connections(): number {
    let n = 0;
    for (const s of this.clients.values()) n += s.size;
    return n;
  }

  close(): void {
    this.detach();
    for (const set of this.clients.values()) for (const ws of set) ws.terminate();
    this.clients.clear();
    this.wss.close();
  }
}
