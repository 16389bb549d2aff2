import { WeftError } from '../errors.ts';
import { allInputs, isWidgetSpec } from '../graph/node.ts';
import type { NodeRegistry } from '../graph/registry.ts';
import { isLink, unwrapValue, type ApiPrompt } from './api.ts';
import type { UiInput, UiLinkArray, UiNode, UiOutput, UiWorkflow } from './ui.ts';
import { widgetDefault, widgetLayout } from './widgets.ts';

/**
 * API prompt → UI graph, as the frontend's loadApiJson: one node per id (titled from _meta), links
 * connected by input name (a linked widget input becomes a socket with `widget`), widget values set
 * by name, positions laid out in columns by depth.
 */
export function apiToUi(prompt: ApiPrompt, registry: NodeRegistry): UiWorkflow {
  const missing = [...new Set(Object.values(prompt).map((n) => n.class_type).filter((t) => !registry.has(t)))];
  if (missing.length) {
    throw new WeftError(`unknown node types: ${missing.join(', ')}`, { type: 'missing_node_type', extra: { missing } });
  }
  // Numeric ids are kept; others ("5:3" from subgraphs, names) get fresh numbers.
  const ids = new Map<string, number>();
  let next = Math.max(0, ...Object.keys(prompt).filter((k) => /^\d+$/.test(k)).map(Number)) + 1;
  for (const k of Object.keys(prompt)) ids.set(k, /^\d+$/.test(k) ? Number(k) : next++);

  const nodes = new Map<string, UiNode>();
  for (const [key, api] of Object.entries(prompt)) {
    const def = registry.get(api.class_type)!;
    const inputs: UiInput[] = [];
    for (const [name, spec] of allInputs(def)) {
      const v = api.inputs[name];
      if (!isWidgetSpec(spec)) inputs.push({ name, type: spec.type, link: null });
      else if (isLink(v)) inputs.push({ name, type: spec.type, link: null, widget: { name } });
    }
    const outputs: UiOutput[] = def.outputs.map((o) => ({ name: o.name ?? o.type, type: o.type, links: [] }));
    const widgets_values = widgetLayout(def).map((slot) => {
      if (slot.kind === 'control') return 'fixed';
      if (slot.kind === 'filter') return '';
      if (slot.kind === 'upload') return 'image';
      const v = api.inputs[slot.name];
      return v === undefined || isLink(v) ? widgetDefault(slot.spec!) ?? null : unwrapValue(v);
    });
    const node: UiNode = {
      id: ids.get(key)!, type: api.class_type, pos: [0, 0], size: [320, 120], flags: {}, order: 0, mode: 0,
      inputs, outputs, properties: { 'Node name for S&R': api.class_type }, widgets_values,
    };
    const title = api._meta?.title;
    if (typeof title === 'string' && title !== (def.displayName ?? def.name)) node.title = title;
    nodes.set(key, node);
  }

  const links: UiLinkArray[] = [];
  for (const [key, api] of Object.entries(prompt)) {
    const target = nodes.get(key)!;
    for (const [name, v] of Object.entries(api.inputs)) {
      if (!isLink(v)) continue;
      const origin = nodes.get(v[0]);
      const slot = target.inputs!.findIndex((i) => i.name === name);
      const out = origin?.outputs?.[Number(v[1])];
      if (!origin || slot < 0 || !out) continue;
      const id = links.length + 1;
      links.push([id, origin.id as number, Number(v[1]), target.id as number, slot, out.type]);
      target.inputs![slot]!.link = id;
      out.links!.push(id);
    }
  }
  layout(nodes, prompt);
  const list = [...nodes.values()];
  return {
    last_node_id: Math.max(0, ...list.map((n) => Number(n.id))),
    last_link_id: links.length,
    nodes: list,
    links,
    groups: [],
    config: {},
    extra: {},
    version: 0.4,
  };
}

/** Columns by longest path from a source; rows in id order within a column. */
function layout(nodes: Map<string, UiNode>, prompt: ApiPrompt): void {
  const depth = new Map<string, number>();
  const visit = (key: string, stack: Set<string>): number => {
    const known = depth.get(key);
    if (known !== undefined) return known;
    if (stack.has(key)) return 0;
    stack.add(key);
    let d = 0;
    for (const v of Object.values(prompt[key]?.inputs ?? {})) if (isLink(v) && prompt[v[0]]) d = Math.max(d, visit(v[0], stack) + 1);
    stack.delete(key);
    depth.set(key, d);
    return d;
  };
  const rows = new Map<number, number>();
  let order = 0;
  const keys = [...nodes.keys()].sort((a, b) => visit(a, new Set()) - visit(b, new Set()));
  for (const key of keys) {
    const d = visit(key, new Set());
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    const n = nodes.get(key)!;
    n.pos = [d * 380, row * 260];
    n.order = order++;
  }
}
