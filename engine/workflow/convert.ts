import type { NodeRegistry } from '../graph/registry.ts';
import type { StringSpec } from '../graph/node.ts';
import { isLink, wrapValue, type ApiNode, type ApiPrompt } from './api.ts';
import { applyTextReplacements, processDynamicPrompt, SAVE_NODE_TYPES } from './dynamic.ts';
import {
  flatten, isVirtual, missingTypes, missingTypesError, resolveInput, type ExecNode, type FlatGraph,
} from './graph.ts';
import { isPlainObject } from './json.ts';
import { MODE_BYPASS, MODE_NEVER, type UiWorkflow } from './ui.ts';
import { readWidgetValues, widgetDefault, widgetLayout } from './widgets.ts';

export interface ConvertOptions {
  /** Write `_meta: {title}` on every node, as the frontend does (default true). */
  meta?: boolean;
  /** Randomness for {a|b} choices in dynamicPrompts strings (default Math.random). */
  random?: () => number;
  /** Clock for %date:…% in filename prefixes. */
  now?: Date;
  /**
   * Give required widgets the file has no value for their schema default, as today's frontend does when
   * it loads an old file (the node gained inputs since it was saved). Off by default: the prompt then
   * matches the one ComfyUI wrote with the file, and missing inputs are left to validation.
   */
  fillMissingWidgets?: boolean;
}

/**
 * UI workflow → API prompt, as ComfyUI's frontend graphToPrompt does it, driven by the node schemas in
 * `registry`. Throws a WeftError of type missing_node_type listing every unknown class.
 */
export function uiToApi(wf: UiWorkflow, registry: NodeRegistry, opts: ConvertOptions = {}): ApiPrompt {
  const flat = flatten(wf, registry);
  const missing = missingTypes(flat);
  if (missing.size > 0) throw missingTypesError(missing);
  applyPrimitives(flat);
  const legacyFrontend = !isPlainObject(wf.extra) || wf.extra.frontendVersion === undefined;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? new Date();
  const lookup = widgetLookup(flat);

  const out: ApiPrompt = {};
  for (const ex of flat.nodes) {
    if (isVirtual(ex) || ex.mode === MODE_NEVER || ex.mode === MODE_BYPASS || !ex.def) continue;
    const def = ex.def;
    const inputs: Record<string, unknown> = {};
    for (const [name, value] of widgetValues(ex, opts.fillMissingWidgets)) {
      let v = value;
      const spec = def.inputs.required?.[name] ?? def.inputs.optional?.[name];
      if (typeof v === 'string' && spec?.type === 'STRING' && (spec as StringSpec).dynamicPrompts) v = processDynamicPrompt(v, random);
      if (typeof v === 'string' && name === 'filename_prefix' && SAVE_NODE_TYPES.has(def.name)) v = applyTextReplacements(v, lookup, now);
      inputs[name] = wrapValue(v);
    }
    // The legacy frontend serialized LoadImage's upload button as an input; newer ones do not.
    const upload = readWidgetValues(widgetLayout(def), ex.node.widgets_values).upload;
    if (legacyFrontend && upload !== undefined) inputs['choose file to upload'] = upload;
    for (const [i, input] of (ex.node.inputs ?? []).entries()) {
      const r = resolveInput(ex, i);
      if (!r) continue;
      inputs[input.name] = 'value' in r ? wrapValue(r.value) : [r.id, r.slot];
    }
    const node: ApiNode = { inputs, class_type: def.name };
    if (opts.meta !== false) node._meta = { title: typeof ex.node.title === 'string' ? ex.node.title : def.displayName ?? def.name };
    out[ex.id] = node;
  }
  // Links into nodes that were not emitted (muted, unresolvable) are dropped, as the frontend does.
  for (const n of Object.values(out)) {
    for (const [k, v] of Object.entries(n.inputs)) if (isLink(v) && !out[v[0]]) delete n.inputs[k];
  }
  return out;
}

/** Value widgets of a node in widget order: stored value, PrimitiveNode override, else default. */
export function widgetValues(ex: ExecNode, fillMissing = false): Map<string, unknown> {
  const result = new Map<string, unknown>();
  if (!ex.def) return result;
  const layout = widgetLayout(ex.def);
  const stored = ex.node.widgets_values;
  const read = readWidgetValues(layout, stored);

  for (const slot of layout) {
    if (slot.kind !== 'value') continue;
    if (ex.overrides.has(slot.name)) result.set(slot.name, ex.overrides.get(slot.name));
    else if (read.values.has(slot.name)) result.set(slot.name, read.values.get(slot.name));
    else if (fillMissing && !slot.optional && slot.spec) {
      const d = widgetDefault(slot.spec);
      if (d !== undefined) result.set(slot.name, d);
    }
  }
  return result;
}

/** PrimitiveNode.applyToGraph: copy the primitive's value into every widget it feeds. */
function applyPrimitives(flat: FlatGraph): void {
  for (const ex of flat.nodes) {
    if (ex.node.type !== 'PrimitiveNode') continue;
    const wv = ex.node.widgets_values;
    const value = Array.isArray(wv) ? wv[0] : isPlainObject(wv) ? Object.values(wv)[0] : undefined;
    if (value === undefined) continue;
    for (const out of ex.node.outputs ?? []) {
      for (const linkId of out.links ?? []) {
        const link = ex.scope.links.get(Number(linkId));
        if (!link) continue;
        const target = ex.scope.byId.get(String(link.target_id));
        const input = target?.node.inputs?.[link.target_slot];
        if (!target || !input) continue;
        target.overrides.set(input.widget?.name ?? input.name, value);
      }
    }
  }
}

/** %Node.widget% lookup over the root graph: by "Node name for S&R", then by title. */
function widgetLookup(flat: FlatGraph): (node: string, widget: string) => unknown {
  return (name, widget) => {
    const roots = [...flat.root.byId.values()];
    let hits = roots.filter((ex) => ex.node.properties?.['Node name for S&R'] === name);
    if (hits.length === 0) hits = roots.filter((ex) => (ex.node.title ?? ex.def?.displayName ?? ex.node.type) === name);
    const ex = hits[0];
    if (!ex) return undefined;
    const values = widgetValues(ex);
    return values.has(widget) ? values.get(widget) : undefined;
  };
}
