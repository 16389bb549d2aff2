import extract from 'png-chunks-extract';
import encode from 'png-chunks-encode';
import * as pngText from 'png-chunk-text';
import { inflateSync } from 'node:zlib';

/** A number kept as its source text (lossless-json's LosslessNumber and the like). */
interface RawNumber {
  isLosslessNumber: true;
  value: string;
}

function isRawNumber(v: unknown): v is RawNumber {
  return typeof v === 'object' && v !== null && (v as RawNumber).isLosslessNumber === true && typeof (v as RawNumber).value === 'string';
}

export interface DumpOptions {
  /** Python's default (', ', ': ') when true; JSON.stringify's compact form when false. */
  spaced?: boolean;
  replacer?: (key: string, v: unknown) => unknown;
}

/** Python's json.dumps string escaping with ensure_ascii: everything outside ' '..'~' as \uXXXX. */
function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += s[i];
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else out += '\\u' + c.toString(16).padStart(4, '0');
  }
  return out + '"';
}

/** Python's repr of a number: integers exactly, floats shortest with Python's exponent rules. */
function pyNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(x)) return Math.abs(x) < 1e21 ? String(x === 0 ? 0 : x) : BigInt(x).toString();
  const [mant, exp] = x.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return String(x);
}

/**
 * JSON text as Python's json.dumps writes it (ensure_ascii, NaN/Infinity literals), with BigInt
 * and lossless numbers written as exact integers — so seeds above 2^53 survive.
 */
export function jsonDumps(value: unknown, opts: DumpOptions = {}): string {
  const comma = opts.spaced === false ? ',' : ', ';
  const colon = opts.spaced === false ? ':' : ': ';
  const seen = new Set<object>();
  const walk = (key: string, v: unknown): string | undefined => {
    if (v && typeof (v as { toJSON?: unknown }).toJSON === 'function' && !isRawNumber(v)) v = (v as { toJSON(k: string): unknown }).toJSON(key);
    if (opts.replacer) v = opts.replacer(key, v);
    if (v === null) return 'null';
    switch (typeof v) {
      case 'string':
        return quote(v);
      case 'number':
        return pyNumber(v);
      case 'bigint':
        return v.toString();
      case 'boolean':
        return v ? 'true' : 'false';
      case 'undefined':
      case 'function':
      case 'symbol':
        return undefined;
    }
    if (isRawNumber(v)) return v.value;
    const o = v as object;
    if (seen.has(o)) throw new TypeError('cannot serialise a circular structure to JSON');
    seen.add(o);
    let out: string;
    if (Array.isArray(o)) {
      out = '[' + o.map((x, i) => walk(String(i), x) ?? 'null').join(comma) + ']';
    } else {
      const parts: string[] = [];
      for (const [k, x] of Object.entries(o)) {
        const s = walk(k, x);
        if (s !== undefined) parts.push(quote(k) + colon + s);
      }
      out = '{' + parts.join(comma) + '}';
    }
    seen.delete(o);
    return out;
  };
  return walk('', value) ?? 'null';
}

/** Compact ASCII-only JSON (non-ASCII as \uXXXX), BigInt-safe; fits a latin-1 tEXt chunk. */
export function asciiJson(value: unknown, replacer?: (key: string, v: unknown) => unknown): string {
  return jsonDumps(value, { spaced: false, replacer });
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

/**
 * Returns a copy of the PNG with tEXt chunks right after IHDR — before the image data, where PIL
 * (and so ComfyUI) writes them, so streaming readers find the workflow early.
 * Text must be latin-1 (use jsonDumps/asciiJson for JSON).
 */
export function addPngText(png: Uint8Array, texts: Record<string, string>): Uint8Array {
  const chunks = extract(png);
  const ihdr = chunks.findIndex((c) => c.name === 'IHDR');
  for (const [k, v] of Object.entries(texts)) {
    if (!/^[\x20-\x7e\xa1-\xff]{1,79}$/.test(k)) throw new Error(`invalid PNG text keyword "${k}"`);
    if (/[^\x00-\xff]/.test(v)) throw new Error(`PNG text "${k}" is not latin-1; escape it (jsonDumps) first`);
  }
  const add = Object.entries(texts).map(([k, v]) => pngText.encode(k, v));
  chunks.splice(ihdr + 1, 0, ...add);
  return encode(chunks);
}
