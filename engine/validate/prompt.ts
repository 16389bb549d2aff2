/** The API ("prompt") format: node id → class and inputs; a link is [sourceId, outputSlot]. */
export interface ApiNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string; [k: string]: unknown };
  [extra: string]: unknown;
}
export type ApiPrompt = Record<string, ApiNode>;

export type Link = [string, number];

/** A value is a link when it is a 2-array (ComfyUI treats any list as one; the shape is checked in validation). */
export function isLinkLike(v: unknown): v is unknown[] {
  return Array.isArray(v);
}

/** The normalised [id, slot] of a well-formed link, or null. Numeric ids are accepted: some tools write them. */
export function asLink(v: unknown): Link | null {
  if (!Array.isArray(v) || v.length !== 2) return null;
  const [id, slot] = v;
  if (typeof id !== 'string' && !(typeof id === 'number' && Number.isInteger(id))) return null;
  if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0) return null;
  return [String(id), slot];
}

/** The frontend wraps array-valued widgets as {"__value__": [...]} so they are not mistaken for links. */
export function unwrapValue(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && '__value__' in (v as object)) return (v as { __value__: unknown }).__value__;
  return v;
}

/**
 * Finds dependency cycles among `ids` following links; returns each cycle's members (sorted),
 * or [] when the graph is acyclic. Iterative so deep chains do not overflow the stack.
 */
export function findCycles(prompt: ApiPrompt, ids: Iterable<string>): string[][] {
  const state = new Map<string, 1 | 2>(); // 1 = on stack, 2 = done
  const cycles: string[][] = [];
  const seenInCycle = new Set<string>();
  for (const start of ids) {
    if (state.has(start)) continue;
    const stack: [string, string[]][] = [[start, upstreamIds(prompt, start)]];
    const pathIds: string[] = [start];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const next = top[1].pop();
      if (next === undefined) {
        state.set(top[0], 2);
        stack.pop();
        pathIds.pop();
        continue;
      }
      if (!(next in prompt)) continue;
      const st = state.get(next);
      if (st === 1) {
        const members = pathIds.slice(pathIds.indexOf(next));
        if (!members.some((m) => seenInCycle.has(m))) cycles.push([...members].sort(compareIds));
        for (const m of members) seenInCycle.add(m);
      } else if (st === undefined) {
        state.set(next, 1);
        stack.push([next, upstreamIds(prompt, next)]);
        pathIds.push(next);
      }
    }
  }
  return cycles;
}

/**
 * Every node reachable upstream from `starts` (themselves included), skipping ids not in the prompt and
 * not walking past those `stop` rejects. Iterative, like findCycles.
 */
export function upstreamClosure(prompt: ApiPrompt, starts: readonly string[], stop?: (id: string) => boolean): Set<string> {
  const seen = new Set<string>();
  const stack = [...starts];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id) || stop?.(id) || !(id in prompt)) continue;
    seen.add(id);
    stack.push(...upstreamIds(prompt, id));
  }
  return seen;
}

export function upstreamIds(prompt: ApiPrompt, id: string): string[] {
  const out: string[] = [];
  const inputs = prompt[id]?.inputs;
  if (!inputs || typeof inputs !== 'object') return out;
  for (const v of Object.values(inputs)) {
    const l = asLink(v);
    if (l) out.push(l[0]);
  }
  return out;
}

/** Numeric ids in numeric order, others after, as strings. */
export function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  const fa = Number.isFinite(na);
  const fb = Number.isFinite(nb);
  if (fa && fb && na !== nb) return na - nb;
  if (fa !== fb) return fa ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
