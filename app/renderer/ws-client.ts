/**
 * The /ws connection: ComfyUI's JSON messages and binary preview frames, with reconnect. The client
 * id is chosen here and sent with every queued prompt, so execution events come back to this window.
 */
import type { WsMessage } from '../shared/wire.ts';
import { parseBinaryFrame, type PreviewFrame } from './ws-frames.ts';

export interface WsHandlers {
  message(msg: WsMessage): void;
  preview(frame: PreviewFrame): void;
  connected(ok: boolean): void;
}

export function connectWs(clientId: string, handlers: WsHandlers, url = defaultUrl(clientId)): { close(): void } {
  let ws: WebSocket | null = null;
  let closed = false;
  let retry = 500;
  const open = () => {
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      retry = 500;
      handlers.connected(true);
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') {
        try {
          handlers.message(JSON.parse(ev.data) as WsMessage);
        } catch {
          /* not ours: ignore malformed text frames rather than break the session */
        }
      } else {
        const frame = parseBinaryFrame(ev.data as ArrayBuffer);
        if (frame) handlers.preview(frame);
      }
    };
    ws.onclose = () => {
      handlers.connected(false);
      if (!closed) setTimeout(open, (retry = Math.min(retry * 2, 8000)));
    };
  };
  open();
  return {
    close() {
      closed = true;
      ws?.close();
    },
  };
}

function defaultUrl(clientId: string): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws?clientId=${encodeURIComponent(clientId)}`;
}
