import type { InputSpec, IntSpec } from '../graph/node.ts';

export type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

const INT_RE = /^\s*[+-]?\d+\s*$/;
const FLOAT_RE = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(inf|infinity|nan)\s*$/i;

function parseFloatStrict(s: string): number | null {
  if (!FLOAT_RE.test(s)) return null;
  const t = s.trim().toLowerCase().replace(/^\+/, '');
  if (t.endsWith('nan')) return NaN;
  if (t.endsWith('inf') || t.endsWith('infinity')) return t.startsWith('-') ? -Infinity : Infinity;
  return Number(t);
}

/**
 * Converts a literal to what the input's type expects, like ComfyUI's int()/float()/str() casts,
 * but booleans are parsed ("false" is false: Python's bool("false") is a known trap).
 */
export function coerceLiteral(spec: InputSpec, value: unknown): Coerced {
  switch (spec.type) {
    case 'INT':
      return coerceInt(spec as IntSpec, value);
    case 'FLOAT': {
      if (typeof value === 'number') return { ok: true, value };
      if (typeof value === 'bigint') return { ok: true, value: Number(value) };
      if (typeof value === 'boolean') return { ok: true, value: value ? 1 : 0 };
      if (typeof value === 'string') {
        const n = parseFloatStrict(value);
        if (n !== null) return { ok: true, value: n };
      }
      return { ok: false, message: `could not convert ${describe(value)} to float` };
    }
    case 'STRING':
      if (typeof value === 'string') return { ok: true, value };
      if (typeof value === 'number' || typeof value === 'bigint') return { ok: true, value: String(value) };
      if (typeof value === 'boolean') return { ok: true, value: value ? 'True' : 'False' };
      return { ok: false, message: `could not convert ${describe(value)} to string` };
    case 'BOOLEAN':
      if (typeof value === 'boolean') return { ok: true, value };
      if (typeof value === 'number') return { ok: true, value: value !== 0 };
      if (typeof value === 'string') {
        const t = value.trim().toLowerCase();
        if (t === 'true' || t === '1') return { ok: true, value: true };
        if (t === 'false' || t === '0' || t === '') return { ok: true, value: false };
      }
      return { ok: false, message: `could not convert ${describe(value)} to boolean` };
    case 'COMBO':
      if (typeof value === 'string') return { ok: true, value };
      if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return { ok: true, value: String(value) };
      return { ok: false, message: `expected one of the listed options, got ${describe(value)}` };
    case '*':
      return { ok: true, value };
    default:
      return { ok: false, message: `an input of type ${spec.type} must be linked to another node's output` };
  }
}

function coerceInt(spec: IntSpec, value: unknown): Coerced {
  if (spec.big) {
    if (typeof value === 'bigint') return { ok: true, value };
    if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value: BigInt(Math.trunc(value)) };
    if (typeof value === 'boolean') return { ok: true, value: value ? 1n : 0n };
    if (typeof value === 'string' && INT_RE.test(value)) return { ok: true, value: BigInt(value.trim()) };
    return { ok: false, message: `invalid literal for int(): ${describe(value)}` };
  }
  if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value: Math.trunc(value) };
  if (typeof value === 'bigint') return { ok: true, value: Number(value) };
  if (typeof value === 'boolean') return { ok: true, value: value ? 1 : 0 };
  if (typeof value === 'string' && INT_RE.test(value)) return { ok: true, value: Number(value.trim()) };
  return { ok: false, message: `invalid literal for int(): ${describe(value)}` };
}

/** value < bound, exact for bigint values and bounds. */
export function lessThan(value: number | bigint, bound: number | bigint): boolean {
  if (typeof value === 'bigint' || typeof bound === 'bigint') {
    if (typeof value === 'number' && !Number.isInteger(value)) return value < Number(bound);
    if (typeof bound === 'number' && !Number.isInteger(bound)) return Number(value) < bound;
    return BigInt(value) < BigInt(bound);
  }
  return value < bound;
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Python-like repr of a list of strings, as ComfyUI prints combo options in error details. */
export function pyList(items: readonly string[]): string {
  return `[${items.map((s) => `'${s}'`).join(', ')}]`;
}
