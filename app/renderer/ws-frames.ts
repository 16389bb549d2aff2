/**
 * Binary WebSocket frames from a ComfyUI-compatible server: an 8-byte big-endian header
 * (event type, image type) and then image bytes. Type 4 carries a JSON metadata block instead.
 */
export const PREVIEW_IMAGE = 1;
export const PREVIEW_IMAGE_WITH_METADATA = 4;

export interface PreviewFrame {
  mime: 'image/jpeg' | 'image/png';
  bytes: Uint8Array;
  nodeId?: string;
}

export function parseBinaryFrame(buf: ArrayBuffer): PreviewFrame | null {
  if (buf.byteLength < 8) return null;
  const view = new DataView(buf);
  const event = view.getUint32(0);
  if (event === PREVIEW_IMAGE) {
    const mime = view.getUint32(4) === 2 ? 'image/png' : 'image/jpeg';
    return { mime, bytes: new Uint8Array(buf, 8) };
  }
  if (event === PREVIEW_IMAGE_WITH_METADATA) {
    const len = view.getUint32(4);
    if (8 + len > buf.byteLength) return null;
    const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, len))) as { node_id?: string; image_type?: string };
    return { mime: meta.image_type === 'image/png' ? 'image/png' : 'image/jpeg', bytes: new Uint8Array(buf, 8 + len), nodeId: meta.node_id };
  }
  return null;
}
