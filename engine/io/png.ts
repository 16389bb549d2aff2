import extract from 'png-chunks-extract';
import encode from 'png-chunks-encode';
import * as pngText from 'png-chunk-text';
import { inflateSync } from 'node:zlib';

/** Python's json.dumps default (ensure_ascii): non-ASCII as \uXXXX, so the text fits a latin-1 tEXt chunk. */
export function asciiJson(value: unknown, replacer?: (key: string, v: unknown) => unknown): string {
  const s = JSON.stringify(value, replacer as never);
  return s.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Text chunks of a PNG (tEXt latin-1, zTXt, iTXt UTF-8) by keyword; later chunks win. */
export function readPngText(png: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of extract(png)) {
    if (c.name === 'tEXt') {
      const { keyword, text } = pngText.decode(c.data);
      out[keyword] = text;
    } else if (c.name === 'zTXt') {
      const z = c.data.indexOf(0);
      if (z < 0) continue;
      out[latin1(c.data.subarray(0, z))] = latin1(inflateSync(c.data.subarray(z + 2)));
    } else if (c.name === 'iTXt') {
      const parsed = parseITXt(c.data);
      if (parsed) out[parsed[0]] = parsed[1];
    }
  }
  return out;
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function parseITXt(d: Uint8Array): [string, string] | undefined {
  const k = d.indexOf(0);
  if (k < 0) return undefined;
  const compressed = d[k + 1] === 1;
  let p = k + 3;
  const langEnd = d.indexOf(0, p);
  if (langEnd < 0) return undefined;
  const transEnd = d.indexOf(0, langEnd + 1);
  if (transEnd < 0) return undefined;
  p = transEnd + 1;
  const body = compressed ? inflateSync(d.subarray(p)) : d.subarray(p);
  return [latin1(d.subarray(0, k)), Buffer.from(body).toString('utf8')];
}

/** Returns a copy of the PNG with tEXt chunks inserted before IEND (after IHDR, as PIL writes them). */
export function addPngText(png: Uint8Array, texts: Record<string, string>): Uint8Array {
  const chunks = extract(png);
  const iend = chunks.findIndex((c) => c.name === 'IEND');
  const add = Object.entries(texts).map(([k, v]) => pngText.encode(k, v));
  chunks.splice(iend < 0 ? chunks.length : iend, 0, ...add);
  return encode(chunks);
}
