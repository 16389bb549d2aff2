import { WeftError } from '../errors.ts';
import { isPlainObject, parseJson } from './json.ts';

/** A link in API format: [source node id, output slot]. */
export type ApiLink = [string, number];

export interface ApiNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string; [k: string]: unknown };
  is_changed?: unknown;
  [extra: string]: unknown;
}

/** The executable "prompt": node id → node. */
export type ApiPrompt = Record<string, ApiNode>;

/** As ComfyUI's is_link: a 2-element array of a string id and an integer (or float) slot. */
export function isLink(v: unknown): v is ApiLink {
  return (
    Array.isArray(v) &&
    v.length === 2 &&
    typeof v[0] === 'string' &&
    (typeof v[1] === 'number' || typeof v[1] === 'bigint')
  );
}

/** Literal arrays travel wrapped as {__value__: [...]} so they are not taken for links. */
export function unwrapValue(v: unknown): unknown {
  if (isPlainObject(v) && Object.keys(v).length === 1 && Array.isArray(v.__value__)) return v.__value__;
  return v;
}

export function wrapValue(v: unknown): unknown {
  return Array.isArray(v) ? { __value__: v } : v;
}

/** True when the value has the shape of an API prompt (every entry has class_type and inputs). */
export function looksLikeApiPrompt(v: unknown): v is ApiPrompt {
  if (!isPlainObject(v)) return false;
  const entries = Object.values(v);
  return entries.length > 0 && entries.every((n) => isPlainObject(n) && typeof n.class_type === 'string');
}

/** Checks the shape of an API prompt, naming the node and field at fault. Returns it typed. */
export function checkApiPrompt(v: unknown, file?: string): ApiPrompt {
  const where = file ? ` in ${file}` : '';
  if (!isPlainObject(v)) throw new WeftError(`API prompt${where} must be an object keyed by node id`, { type: 'invalid_prompt', file });
  if (Object.keys(v).length === 0) throw new WeftError(`API prompt${where} has no nodes`, { type: 'invalid_prompt', file });
  for (const [id, n] of Object.entries(v)) {
    if (!isPlainObject(n)) throw new WeftError(`node ${id}${where} must be an object`, { type: 'invalid_prompt', nodeId: id, file });
    if (typeof n.class_type !== 'string' || n.class_type === '') {
      throw new WeftError(`node ${id}${where} has no class_type`, { type: 'invalid_prompt', nodeId: id, file });
    }
    if (n.inputs === undefined) n.inputs = {};
    if (!isPlainObject(n.inputs)) {
      throw new WeftError(`node ${id} (${n.class_type})${where}: "inputs" must be an object`, {
        type: 'invalid_prompt', nodeId: id, classType: n.class_type, file,
      });
    }
    for (const [name, val] of Object.entries(n.inputs)) {
      if (Array.isArray(val) && !isLink(val)) {
        throw new WeftError(
          `node ${id} (${n.class_type}) input "${name}"${where}: an array must be a link [node_id, slot] or be wrapped as {"__value__": [...]}`,
          { type: 'invalid_prompt', nodeId: id, classType: n.class_type, input: name, file },
        );
      }
    }
  }
  return v as ApiPrompt;
}

export function parseApiPrompt(text: string, file?: string): ApiPrompt {
  return checkApiPrompt(parseJson(text, file), file);
}

/** Model file names from Windows-made workflows use backslashes; resolve them portably. */
export function normalizeModelName(name: string): string {
  return name.replace(/\\/g, '/');
}
