/**
 * Reads PNG text chunks in the browser (tEXt, zTXt, iTXt) — where ComfyUI stores `workflow` and
 * `prompt`. The engine's reader uses node:zlib; here compressed chunks go through DecompressionStream,
 * which browsers and Node ≥ 18 both provide.
 */
const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** keyword → text of every text chunk; later chunks with the same keyword win, as in ComfyUI. */
export async function readPngTextChunks(bytes: Uint8Array): Promise<Record<string, string>> {
  if (!isPng(bytes)) throw new Error('not a PNG file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, string> = {};
  let pos = 8;
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = latin1.decode(bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, Math.min(bytes.length, pos + 8 + len));
    pos += 12 + len;
    if (type === 'IEND') break;
    if (type !== 'tEXt' && type !== 'zTXt' && type !== 'iTXt') continue;
    const nul = data.indexOf(0);
    if (nul < 0) continue;
    const key = latin1.decode(data.subarray(0, nul));
    if (type === 'tEXt') {
      // ComfyUI writes UTF-8 JSON into tEXt despite the spec's Latin-1; decode as UTF-8 to keep it.
      out[key] = utf8.decode(data.subarray(nul + 1));
    } else if (type === 'zTXt') {
      out[key] = latin1.decode(await inflate(data.subarray(nul + 2)));
    } else {
      const compressed = data[nul + 1] === 1;
      let p = nul + 3;
      for (let skip = 0; skip < 2; skip++) p = data.indexOf(0, p) + 1; // language tag, translated keyword
      if (p <= 0) continue;
      const text = data.subarray(p);
      out[key] = utf8.decode(compressed ? await inflate(text) : text);
    }
  }
  return out;
}
