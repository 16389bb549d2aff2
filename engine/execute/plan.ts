import { createHash } from 'node:crypto';
import { allInputs, type NodeDef } from '../graph/node.ts';
import type { NodeRegistry } from '../graph/registry.ts';
import type { Folders } from '../graph/context.ts';
import { WeftError } from '../errors.ts';
import { asLink, upstreamIds, type ApiPrompt } from '../validate/prompt.ts';

export interface PlannedNode {
  id: string;
  def: NodeDef;
  /** Hash of class, literal inputs, isChanged value and ancestors' signatures (and the id when not idempotent). */
  sig: string;
  /** True when the signature can never repeat (isChanged returned NaN or threw, or an ancestor is volatile). */
  volatile: boolean;
  /** The prompt's inputs for this node. */
  inputs: Record<string, unknown>;
}

let volatileCounter = 0;

/**
 * Every node the outputs need, in a dependency-respecting order that finishes each output's chain
 * before starting the next (results show up early), with cache signatures.
 */
export async function planPrompt(prompt: ApiPrompt, outputs: readonly string[], registry: NodeRegistry, folders: Folders): Promise<PlannedNode[]> {
  const order = topoOrder(prompt, outputs);
  const planned = new Map<string, PlannedNode>();
  const list: PlannedNode[] = [];
  for (const id of order) {
    const node = prompt[id];
    const def = registry.get(node.class_type);
    if (!def) throw new WeftError(`Node ${id}: unknown node type ${node.class_type}`, { type: 'missing_node_type', nodeId: id, classType: node.class_type });
    let volatile = false;
    let s = def.name;
    const inputs = node.inputs ?? {};
    const literals: Record<string, unknown> = {};
    for (const [name] of sortedInputs(def)) {
      const v = inputs[name];
      if (v === undefined) continue;
      const link = asLink(v);
      if (link) {
        const up = planned.get(link[0]);
        if (!up) throw new WeftError(`Node ${id} (${def.name}): input ${name} links to missing node ${link[0]}`, { type: 'bad_linked_input', nodeId: id, classType: def.name, input: name });
        if (up.volatile) volatile = true;
        s += `\u0000${name}\u0001@${up.sig}:${link[1]}`;
      } else {
        literals[name] = v;
        s += `\u0000${name}\u0001${canonical(v)}`;
      }
    }
    if (def.isChanged) {
      let changed: unknown;
      try {
        changed = await def.isChanged(literals, { folders });
      } catch {
        changed = NaN;
      }
      if (typeof changed === 'number' && Number.isNaN(changed)) {
        volatile = true;
        changed = `volatile#${++volatileCounter}#${process.hrtime.bigint()}`;
      }
      s += `\u0002${canonical(changed)}`;
    }
    if (def.notIdempotent || hasUniqueId(def)) s += `\u0003${id}`;
    const p: PlannedNode = { id, def, sig: createHash('sha1').update(s).digest('hex'), volatile, inputs };
    planned.set(id, p);
    list.push(p);
  }
  return list;
}

const sortedCache = new WeakMap<NodeDef, [string, unknown][]>();
function sortedInputs(def: NodeDef): [string, unknown][] {
  let s = sortedCache.get(def);
  if (!s) {
    s = allInputs(def)
      .map(([n, spec]) => [n, spec] as [string, unknown])
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    sortedCache.set(def, s);
  }
  return s;
}

function hasUniqueId(def: NodeDef): boolean {
  const h = def.inputs.hidden;
  return !!h && Object.values(h).includes('UNIQUE_ID');
}

/** Post-order DFS from each output; a cycle is an error naming its members. */
export function topoOrder(prompt: ApiPrompt, outputs: readonly string[]): string[] {
  const state = new Map<string, 1 | 2>();
  const order: string[] = [];
  for (const out of outputs) {
    if (state.get(out) === 2) continue;
    if (!(out in prompt)) throw new WeftError(`output node ${out} is not in the prompt`, { type: 'invalid_prompt', nodeId: out });
    const stack: [string, string[]][] = [[out, upstreamIds(prompt, out).reverse()]];
    state.set(out, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const next = top[1].pop();
      if (next === undefined) {
        state.set(top[0], 2);
        order.push(top[0]);
        stack.pop();
        continue;
      }
      const st = state.get(next);
      if (st === 2) continue;
      if (st === 1) {
        const members = stack.map((x) => x[0]);
        const cycle = members.slice(members.indexOf(next));
        throw new WeftError(`Dependency cycle detected between nodes ${cycle.join(', ')}`, { type: 'dependency_cycle', nodeId: next, extra: { cycle } });
      }
      if (!(next in prompt)) {
        throw new WeftError(`Node ${top[0]} links to node ${next}, which is not in the prompt`, { type: 'bad_linked_input', nodeId: top[0] });
      }
      state.set(next, 1);
      stack.push([next, upstreamIds(prompt, next).reverse()]);
    }
  }
  return order;
}

/** A stable text form of a literal: bigint-safe, NaN-aware, object keys sorted. */
export function canonical(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : `#${v}`;
    case 'bigint':
      return `${v}n`;
    case 'boolean':
      return v ? 'T' : 'F';
    case 'undefined':
      return 'U';
    case 'object': {
      if (v === null) return 'N';
      if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
      if (ArrayBuffer.isView(v)) {
        const b = v as ArrayBufferView;
        return `B${createHash('sha1').update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)).digest('hex')}`;
      }
      const o = v as Record<string, unknown>;
      return `{${Object.keys(o)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
        .join(',')}}`;
    }
    default:
      return String(v);
  }
}
