import { parse, stringify } from 'lossless-json';
import { WeftError } from '../errors.ts';

/** A JSON value as workflows hold it: integers beyond 2^53 (seeds up to 2^64−1) are bigint. */
export type Json = null | boolean | number | bigint | string | Json[] | { [k: string]: Json };

const INT = /^-?\d+$/;

function parseNumber(s: string): number | bigint {
  if (INT.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : BigInt(s);
  }
  return parseFloat(s);
}

/**
 * Parses JSON keeping integers exact: safe integers stay numbers, larger ones become bigint
 * (a seed of 2^64−1 survives a read/write cycle, which JSON.parse would round).
 */
export function parseJson(text: string, file?: string): unknown {
  try {
    return parse(text, null, parseNumber);
  } catch (e) {
    const where = file ? ` in ${file}` : '';
    throw new WeftError(`invalid JSON${where}: ${(e as Error).message}`, { type: 'invalid_json', file });
  }
}

/** Writes JSON with bigints as plain JSON numbers. `indent` as JSON.stringify's `space`. */
export function stringifyJson(value: unknown, indent?: number | string): string {
  const s = stringify(value as never, null, indent);
  if (s === undefined) throw new WeftError('value cannot be written as JSON', { type: 'invalid_json' });
  return s;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep structural equality of JSON values; number and bigint of the same integer value are equal. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    // eslint-disable-next-line eqeqeq
    return a == b;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}
