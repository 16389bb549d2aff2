/**
 * Builds an engine `NodeRegistry` from the server's /object_info, so the renderer converts its graph
 * to an API prompt with the engine's own `uiToApi` (same widget layout rules, bypass/reroute/primitive
 * handling) instead of a second converter that could drift from it. Pure: runs in Node tests too.
 */
import type { InputSpec, InputsSpec, NodeDef, OutputSpec } from '../../engine/graph/node.ts';
import { NodeRegistry } from '../../engine/graph/registry.ts';
import type { ObjectInfo, ObjectInfoInput, ObjectInfoNode } from '../shared/wire.ts';

/** One object_info input → the engine's InputSpec (legacy `[[options], {}]` and v3 `["COMBO", {options}]`). */
export function toInputSpec(entry: ObjectInfoInput): InputSpec {
  const [type, opts = {}] = entry;
  if (Array.isArray(type)) return { ...opts, type: 'COMBO', options: type.map(String) } as InputSpec;
  if (type === 'COMBO') {
    const options = Array.isArray(opts.options) ? (opts.options as unknown[]).map(String) : [];
    return { ...opts, type: 'COMBO', options } as InputSpec;
  }
  return { ...opts, type } as InputSpec;
}

function group(info: ObjectInfoNode, g: 'required' | 'optional'): Record<string, InputSpec> | undefined {
  const src = info.input?.[g];
  if (!src) return undefined;
  // input_order is authoritative where present: JSON object order survives, but be explicit.
  const order = info.input_order?.[g] ?? Object.keys(src);
  const out: Record<string, InputSpec> = {};
  for (const name of order) if (src[name]) out[name] = toInputSpec(src[name]);
  for (const name of Object.keys(src)) if (!(name in out)) out[name] = toInputSpec(src[name]);
  return out;
}

export function toNodeDef(info: ObjectInfoNode): NodeDef {
  const inputs: InputsSpec = {};
  const req = group(info, 'required');
  const opt = group(info, 'optional');
  if (req) inputs.required = req;
  if (opt) inputs.optional = opt;
  const outputs: OutputSpec[] = (info.output ?? []).map((type, i) => ({
    type,
    name: info.output_name?.[i] ?? type,
    isList: info.output_is_list?.[i] === true,
  }));
  return {
    name: info.name,
    displayName: info.display_name,
    category: info.category ?? 'sd',
    description: info.description,
    inputs,
    outputs,
    outputNode: info.output_node === true,
  };
}

export function registryFromObjectInfo(info: ObjectInfo): NodeRegistry {
  const reg = new NodeRegistry();
  for (const [name, node] of Object.entries(info)) reg.register(toNodeDef({ ...node, name: node.name ?? name }));
  return reg;
}
