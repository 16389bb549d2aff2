import { WeftError } from '../errors.ts';
import type { NodeRegistry } from '../graph/registry.ts';
import type { NodeDef } from '../graph/node.ts';
import {
  linkMap, MODE_BYPASS, MODE_NEVER, subgraphDefinitions, SUBGRAPH_INPUT_ID, SUBGRAPH_OUTPUT_ID,
  type SlotType, type UiLink, type UiNode, type UiSubgraph, type UiWorkflow,
} from './ui.ts';

/** Frontend-only node types: never sent to the backend, resolved or skipped during conversion. */
export const VIRTUAL_TYPES = new Set(['PrimitiveNode', 'Reroute', 'Note', 'MarkdownNote']);

export interface Scope {
  byId: Map<string, ExecNode>;
  links: Map<number, UiLink>;
  /** The subgraph instance this scope is the inside of (absent for the root graph). */
  instance?: ExecNode;
  subgraph?: UiSubgraph;
}

/** One node of the flattened graph; ids of nodes inside subgraphs are "instance:inner" paths. */
export interface ExecNode {
  id: string;
  node: UiNode;
  scope: Scope;
  mode: number;
  def?: NodeDef;
  /** Set when the node is a subgraph instance: the scope of its inside. */
  inner?: Scope;
  /** Widget values set from outside (PrimitiveNode targets), by widget name. */
  overrides: Map<string, unknown>;
}

export interface FlatGraph {
  root: Scope;
  nodes: ExecNode[];
}

/** Expands subgraph instances recursively into one list of nodes with `a:b` ids. */
export function flatten(wf: UiWorkflow, registry: NodeRegistry): FlatGraph {
  const defs = subgraphDefinitions(wf);
  const all: ExecNode[] = [];
  const build = (nodes: UiNode[], links: Scope['links'], path: string[], instance: ExecNode | undefined, sg: UiSubgraph | undefined, stack: string[]): Scope => {
    const scope: Scope = { byId: new Map(), links, instance, subgraph: sg };
    for (const node of nodes) {
      const id = [...path, String(node.id)].join(':');
      // A muted or bypassed instance takes its inside out of the prompt with it.
      const inherited = instance && (instance.mode === MODE_NEVER || instance.mode === MODE_BYPASS) ? MODE_NEVER : undefined;
      const ex: ExecNode = { id, node, scope, mode: inherited ?? node.mode ?? 0, def: registry.get(node.type), overrides: new Map() };
      scope.byId.set(String(node.id), ex);
      all.push(ex);
      const def = defs.get(node.type);
      if (def) {
        if (stack.includes(def.id)) {
          throw new WeftError(`subgraph ${def.name ?? def.id} contains itself (node ${id})`, { type: 'invalid_workflow', nodeId: id });
        }
        ex.inner = build(def.nodes ?? [], linkMap(def.links), [...path, String(node.id)], ex, def, [...stack, def.id]);
      }
    }
    return scope;
  };
  const root = build(wf.nodes, linkMap(wf.links), [], undefined, undefined, []);
  return { root, nodes: all };
}

export function isVirtual(ex: ExecNode): boolean {
  return VIRTUAL_TYPES.has(ex.node.type) || ex.inner !== undefined;
}

/** Types of the nodes that would be sent to the backend but that the registry does not know. */
export function missingTypes(flat: FlatGraph): Map<string, string[]> {
  const missing = new Map<string, string[]>();
  for (const ex of flat.nodes) {
    if (isVirtual(ex) || ex.def || ex.mode === MODE_NEVER || ex.mode === MODE_BYPASS) continue;
    const ids = missing.get(ex.node.type) ?? [];
    ids.push(ex.id);
    missing.set(ex.node.type, ids);
  }
  return missing;
}

export function missingTypesError(missing: Map<string, string[]>): WeftError {
  const list = [...missing.entries()].map(([t, ids]) => `${t} (node${ids.length > 1 ? 's' : ''} ${ids.join(', ')})`);
  return new WeftError(`unknown node types: ${list.join('; ')}`, {
    type: 'missing_node_type',
    extra: { missing: [...missing.keys()] },
  });
}

/** litegraph's isValidConnection: '*' and '' match anything, comparison ignores case, comma lists intersect. */
export function validConnection(a: SlotType | undefined, b: SlotType | undefined): boolean {
  if (a === undefined || b === undefined || a === '' || a === '*' || b === '' || b === '*' || a === 0 || b === 0) return true;
  if (a === b) return true;
  const x = String(a).toLowerCase();
  const y = String(b).toLowerCase();
  if (!x.includes(',') && !y.includes(',')) return x === y;
  const ys = y.split(',').map((s) => s.trim());
  return x.split(',').some((p) => ys.some((q) => validConnection(p.trim(), q)));
}

/** Which input a bypassed node's output passes through: same slot, else exact type, else compatible. */
export function bypassSlotIndex(node: UiNode, slot: number, type: SlotType): number {
  const inputs = node.inputs ?? [];
  if (type === '*' || type === '') return inputs.length > slot ? slot : 0;
  const outType = node.outputs?.[slot]?.type;
  const same = inputs[slot];
  if (same && validConnection(same.type, outType) && validConnection(same.type, type)) return slot;
  const exact = inputs.findIndex((i) => i.type === type);
  if (exact !== -1) return exact;
  return inputs.findIndex((i) => validConnection(i.type, outType) && validConnection(i.type, type));
}

export type Resolved = { id: string; slot: number } | { value: unknown };

/** The value a subgraph instance shows for one of its promoted widget inputs, if any. */
export function instanceWidgetValue(inst: ExecNode, inputIndex: number): { value: unknown } | undefined {
  const input = inst.node.inputs?.[inputIndex];
  const name = input?.widget?.name;
  if (!input || !name) return undefined;
  if (inst.overrides.has(name)) return { value: inst.overrides.get(name) };
  const wv = inst.node.widgets_values;
  if (Array.isArray(wv)) {
    const k = (inst.node.inputs ?? []).filter((i) => i.widget).indexOf(input);
    if (k >= 0 && k < wv.length) return { value: wv[k] };
  } else if (wv && Object.prototype.hasOwnProperty.call(wv, name)) {
    return { value: wv[name] };
  }
  return undefined;
}

function guard(visited: Set<string>, key: string, ex: ExecNode): void {
  if (visited.has(key)) {
    throw new WeftError(`circular link while resolving node ${ex.id} (${ex.node.type})`, { type: 'invalid_workflow', nodeId: ex.id });
  }
  visited.add(key);
}

/**
 * Follows an input link through bypassed nodes, reroutes and subgraph boundaries to the output that
 * really feeds it, or to a promoted widget value. Undefined when nothing usable is connected.
 */
export function resolveInput(ex: ExecNode, slot: number, visited = new Set<string>(), type?: SlotType): Resolved | undefined {
  guard(visited, `${ex.id}[I]${slot}`, ex);
  const input = ex.node.inputs?.[slot];
  if (!input || input.link === null || input.link === undefined) return undefined;
  const link = ex.scope.links.get(Number(input.link));
  if (!link) return undefined;
  const inst = ex.scope.instance;
  if (inst && Number(link.origin_id) === SUBGRAPH_INPUT_ID) {
    const outer = inst.node.inputs?.[link.origin_slot];
    if (!outer) return undefined;
    if (outer.link === null || outer.link === undefined) return instanceWidgetValue(inst, link.origin_slot);
    return resolveInput(inst, link.origin_slot, visited);
  }
  const origin = ex.scope.byId.get(String(link.origin_id));
  if (!origin) return undefined;
  return resolveOutput(origin, link.origin_slot, type ?? input.type, visited);
}

export function resolveOutput(ex: ExecNode, slot: number, type: SlotType, visited: Set<string>): Resolved | undefined {
  guard(visited, `${ex.id}[O]${slot}`, ex);
  if (ex.mode === MODE_BYPASS) {
    const idx = bypassSlotIndex(ex.node, slot, type);
    return idx === -1 ? undefined : resolveInput(ex, idx, visited);
  }
  if (ex.inner) {
    const inner = [...ex.inner.links.values()].find((l) => Number(l.target_id) === SUBGRAPH_OUTPUT_ID && l.target_slot === slot);
    if (!inner) return undefined;
    if (Number(inner.origin_id) === SUBGRAPH_INPUT_ID) {
      // An input wired straight to an output: pass through the instance's own input.
      const outer = ex.node.inputs?.[inner.origin_slot];
      if (outer && (outer.link === null || outer.link === undefined)) return instanceWidgetValue(ex, inner.origin_slot);
      return resolveInput(ex, inner.origin_slot, visited);
    }
    const innerNode = ex.inner.byId.get(String(inner.origin_id));
    return innerNode ? resolveOutput(innerNode, inner.origin_slot, type, visited) : undefined;
  }
  if (VIRTUAL_TYPES.has(ex.node.type)) {
    return ex.node.inputs?.[slot] ? resolveInput(ex, slot, visited, type) : undefined;
  }
  return { id: ex.id, slot };
}
