import { WeftError } from '../errors.ts';
import { isPlainObject, parseJson, stringifyJson } from './json.ts';

/**
 * The UI ("workflow") format as litegraph writes it, version 0.4 or 1. Every object keeps the fields
 * we do not model (index signatures), so parse → serialize gives back the same JSON values.
 */
export type SlotType = string | number;

export interface UiInput {
  name: string;
  type: SlotType;
  link: number | null;
  widget?: { name: string; [k: string]: unknown };
  localized_name?: string;
  [k: string]: unknown;
}

export interface UiOutput {
  name: string;
  type: SlotType;
  links?: number[] | null;
  widget?: { name: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface UiNode {
  id: number | string;
  type: string;
  mode?: number;
  title?: string;
  inputs?: UiInput[];
  outputs?: UiOutput[];
  widgets_values?: unknown[] | Record<string, unknown>;
  properties?: Record<string, unknown>;
  [k: string]: unknown;
}

/** Version 0.4 link: [id, origin_id, origin_slot, target_id, target_slot, type]. */
export type UiLinkArray = [number, number | string, number, number | string, number, SlotType];

export interface UiLink {
  id: number;
  origin_id: number | string;
  origin_slot: number;
  target_id: number | string;
  target_slot: number;
  type: SlotType;
  parentId?: number;
  [k: string]: unknown;
}

export interface UiSubgraphIo {
  id?: string;
  name: string;
  type: SlotType;
  linkIds?: number[];
  [k: string]: unknown;
}

/** A subgraph definition (always v1-shaped): its own nodes and links, IO node ids -10 / -20. */
export interface UiSubgraph {
  id: string;
  name?: string;
  nodes: UiNode[];
  links?: (UiLink | UiLinkArray)[];
  inputs?: UiSubgraphIo[];
  outputs?: UiSubgraphIo[];
  widgets?: unknown[];
  [k: string]: unknown;
}

export interface UiWorkflow {
  version?: number;
  nodes: UiNode[];
  links?: (UiLinkArray | UiLink)[];
  groups?: unknown[];
  extra?: Record<string, unknown>;
  definitions?: { subgraphs?: UiSubgraph[]; [k: string]: unknown };
  [k: string]: unknown;
}

export const SUBGRAPH_INPUT_ID = -10;
export const SUBGRAPH_OUTPUT_ID = -20;

/** Node modes (litegraph LGraphEventMode). */
export const MODE_ALWAYS = 0;
export const MODE_NEVER = 2;
export const MODE_BYPASS = 4;

export function looksLikeUiWorkflow(v: unknown): v is UiWorkflow {
  return isPlainObject(v) && Array.isArray(v.nodes);
}

function fail(msg: string, file?: string): never {
  throw new WeftError(file ? `${msg} (in ${file})` : msg, { type: 'invalid_workflow', file });
}

function checkNodes(nodes: unknown, where: string, file?: string): void {
  if (!Array.isArray(nodes)) fail(`${where}: "nodes" must be an array`, file);
  nodes.forEach((n, i) => {
    if (!isPlainObject(n)) fail(`${where}: nodes[${i}] must be an object`, file);
    if (typeof n.id !== 'number' && typeof n.id !== 'string') fail(`${where}: nodes[${i}] has no id`, file);
    if (typeof n.type !== 'string') fail(`${where}: node ${String(n.id)} has no type`, file);
    for (const key of ['inputs', 'outputs'] as const) {
      const slots = n[key];
      if (slots === undefined || slots === null) continue;
      if (!Array.isArray(slots)) fail(`${where}: node ${String(n.id)} (${n.type}) "${key}" must be an array`, file);
    }
    const wv = n.widgets_values;
    if (wv !== undefined && wv !== null && !Array.isArray(wv) && !isPlainObject(wv)) {
      fail(`${where}: node ${String(n.id)} (${n.type}) "widgets_values" must be an array or an object`, file);
    }
  });
}

function checkLinks(links: unknown, where: string, file?: string): void {
  if (links === undefined || links === null) return;
  if (!Array.isArray(links)) fail(`${where}: "links" must be an array`, file);
  links.forEach((l, i) => {
    if (Array.isArray(l)) {
      if (l.length < 5) fail(`${where}: links[${i}] must be [id, origin_id, origin_slot, target_id, target_slot, type]`, file);
    } else if (!isPlainObject(l) || typeof l.id !== 'number') {
      fail(`${where}: links[${i}] must be an array or an object with an id`, file);
    }
  });
}

/** Checks the shape of a UI workflow (0.4 or 1, with subgraph definitions); the value itself is kept as is. */
export function checkUiWorkflow(v: unknown, file?: string): UiWorkflow {
  if (!looksLikeUiWorkflow(v)) fail('not a UI workflow: expected an object with a "nodes" array', file);
  checkNodes(v.nodes, 'workflow', file);
  checkLinks(v.links, 'workflow', file);
  const defs = v.definitions;
  if (defs !== undefined && defs !== null) {
    if (!isPlainObject(defs)) fail('workflow: "definitions" must be an object', file);
    const subs = defs.subgraphs;
    if (subs !== undefined && !Array.isArray(subs)) fail('workflow: "definitions.subgraphs" must be an array', file);
    for (const [i, sg] of (subs ?? []).entries()) {
      if (!isPlainObject(sg) || typeof sg.id !== 'string') fail(`workflow: definitions.subgraphs[${i}] has no id`, file);
      checkNodes(sg.nodes, `subgraph ${sg.id}`, file);
      checkLinks(sg.links, `subgraph ${sg.id}`, file);
    }
  }
  return v;
}

export function parseUiWorkflow(text: string, file?: string): UiWorkflow {
  return checkUiWorkflow(parseJson(text, file), file);
}

/** Writes the workflow back; unknown fields are written exactly as they were read. */
export function serializeUiWorkflow(wf: UiWorkflow, indent?: number | string): string {
  return stringifyJson(wf, indent);
}

/** One link shape for both versions (0.4 arrays, 1 objects). */
export function normalizeLink(l: UiLinkArray | UiLink): UiLink {
  if (Array.isArray(l)) {
    return { id: l[0], origin_id: l[1], origin_slot: l[2], target_id: l[3], target_slot: l[4], type: l[5] };
  }
  return l;
}

export function linkMap(links: (UiLinkArray | UiLink)[] | undefined): Map<number, UiLink> {
  const m = new Map<number, UiLink>();
  for (const l of links ?? []) {
    const n = normalizeLink(l);
    m.set(Number(n.id), n);
  }
  return m;
}

export function subgraphDefinitions(wf: UiWorkflow): Map<string, UiSubgraph> {
  const m = new Map<string, UiSubgraph>();
  for (const sg of wf.definitions?.subgraphs ?? []) m.set(sg.id, sg);
  return m;
}
