import type { UiOutput } from '../graph/context.ts';
import type { NodeDef } from '../graph/node.ts';
import { WeftError } from '../errors.ts';

export interface NormalizedResult {
  outputs: unknown[];
  ui?: UiOutput;
}

/** Accepts a tuple, {outputs, ui}, or nothing (for nodes without outputs), and checks the arity. */
export function normalizeResult(def: NodeDef, raw: unknown): NormalizedResult {
  let outputs: unknown[];
  let ui: UiOutput | undefined;
  if (Array.isArray(raw)) outputs = raw;
  else if (raw === undefined || raw === null) outputs = [];
  else if (typeof raw === 'object') {
    const r = raw as { outputs?: unknown[]; ui?: UiOutput };
    outputs = r.outputs ?? [];
    ui = r.ui;
    if (!Array.isArray(outputs)) throw new WeftError(`${def.name} returned outputs that are not a list`, { classType: def.name });
  } else throw new WeftError(`${def.name} returned ${typeof raw}; expected a tuple of outputs or {outputs, ui}`, { classType: def.name });
  if (outputs.length !== def.outputs.length) {
    throw new WeftError(`${def.name} returned ${outputs.length} output value(s), its schema declares ${def.outputs.length}`, { classType: def.name });
  }
  def.outputs.forEach((o, k) => {
    if (o.isList && !Array.isArray(outputs[k])) {
      throw new WeftError(`${def.name} output ${k} (${o.name ?? o.type}) is a list output but the node returned a non-array`, { classType: def.name });
    }
  });
  return { outputs, ui };
}

/** ui lists from per-element calls are concatenated key by key (ComfyUI's merge). */
export function mergeUi(into: UiOutput | undefined, add: UiOutput): UiOutput {
  if (!into) return { ...add };
  for (const [k, v] of Object.entries(add)) into[k] = [...(into[k] ?? []), ...v];
  return into;
}

/** A short, JSON-safe description of an input value for execution_error's current_inputs. */
export function describeValue(v: unknown): unknown {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > 200 ? `${v.slice(0, 200)}…` : v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.shape) && ArrayBuffer.isView(o.data)) return `Tensor[${(o.shape as number[]).join(',')}] ${String(o.dtype ?? '')}`.trim();
    if (ArrayBuffer.isView(o)) return `${o.constructor.name}(${(o as ArrayBufferView).byteLength} bytes)`;
    if (Array.isArray(o)) return `list of ${o.length}`;
    return o.constructor?.name && o.constructor.name !== 'Object' ? o.constructor.name : 'object';
  }
  return String(v);
}
