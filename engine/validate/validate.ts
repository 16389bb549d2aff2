import type { ComboEnv, ComboSpec } from '../graph/node.ts';
import type { Folders } from '../graph/context.ts';
import type { NodeRegistry } from '../graph/registry.ts';
import { errorMessage } from '../errors.ts';
import { describe } from './coerce.ts';
import { checkNode, EMPTY_ENV, err, type NodeErrors, type PromptError } from './node.ts';
import { compareIds, findCycles, upstreamClosure, upstreamIds, type ApiNode, type ApiPrompt } from './prompt.ts';

export type { NodeErrors, PromptError } from './node.ts';

export interface ValidationResult {
  ok: boolean;
  error?: PromptError;
  node_errors: Record<string, NodeErrors>;
  /** Output node ids that validated and will run. */
  outputs: string[];
  /** The prompt with literals coerced to their input types (what the executor should run). */
  prompt: ApiPrompt;
}

export interface ValidateOptions {
  /** Needed to check combos whose options come from folders; without it those combos are not checked. */
  folders?: Folders;
  /** ComfyUI's partial_execution_targets: only these output nodes are considered. */
  outputs?: readonly string[];
}

function fail(prompt: ApiPrompt, error: PromptError, node_errors: Record<string, NodeErrors> = {}): ValidationResult {
  return { ok: false, error, node_errors, outputs: [], prompt };
}

/** Checks a prompt against the registry before anything runs; shapes follow ComfyUI's /prompt responses. */
export async function validatePrompt(prompt: unknown, registry: NodeRegistry, opts: ValidateOptions = {}): Promise<ValidationResult> {
  if (prompt === null || typeof prompt !== 'object' || Array.isArray(prompt)) {
    return fail({}, err('invalid_prompt', 'Invalid prompt: expected an object of nodes keyed by id', describe(prompt).slice(0, 200)));
  }
  const p = prompt as Record<string, unknown>;
  const ids = Object.keys(p);
  for (const id of ids) {
    const n = p[id] as Partial<ApiNode> | null;
    if (n === null || typeof n !== 'object' || typeof n.class_type !== 'string') {
      return fail(p as ApiPrompt, err('invalid_prompt', 'Cannot execute because a node is missing the class_type property.', `Node ID '#${id}'`, { node_id: id }));
    }
    if (n.inputs !== undefined && (n.inputs === null || typeof n.inputs !== 'object' || Array.isArray(n.inputs))) {
      return fail(p as ApiPrompt, err('invalid_prompt', `Node ${id} (${n.class_type}) has malformed inputs: expected an object`, `Node ID '#${id}'`, { node_id: id }));
    }
  }
  const src = p as ApiPrompt;

  const missing = ids.filter((id) => !registry.has(src[id].class_type)).sort(compareIds);
  if (missing.length) {
    const types = [...new Set(missing.map((id) => src[id].class_type))];
    const node_errors: Record<string, NodeErrors> = {};
    for (const id of missing) {
      const ct = src[id].class_type;
      node_errors[id] = {
        errors: [err('missing_node_type', `Node type '${ct}' does not exist in Weft.`, `Node ID '#${id}'`, { node_id: id, class_type: ct, node_title: src[id]._meta?.title ?? ct })],
        dependent_outputs: [],
        class_type: ct,
      };
    }
    const msg = `Cannot execute because node type${types.length > 1 ? 's' : ''} ${types.join(', ')} do${types.length > 1 ? '' : 'es'} not exist.`;
    return fail(src, err('missing_node_type', msg, missing.map((id) => `Node ID '#${id}': ${src[id].class_type}`).join('\n'), { missing_types: types }), node_errors);
  }

  const wanted = opts.outputs ? new Set(opts.outputs.map(String)) : null;
  const outputIds = ids.filter((id) => registry.get(src[id].class_type)!.outputNode === true && (!wanted || wanted.has(id))).sort(compareIds);
  if (outputIds.length === 0) return fail(src, err('prompt_no_outputs', 'Prompt has no outputs', '', {}));

  // Everything the outputs reach; nodes nothing needs are neither validated nor run (as in ComfyUI).
  const reach = upstreamClosure(src, outputIds);

  const env: ComboEnv = opts.folders ?? EMPTY_ENV;
  const comboCache = new Map<ComboSpec, string[]>();
  const out: ApiPrompt = { ...src };
  const own = new Map<string, PromptError[]>();

  for (const cycle of findCycles(src, reach)) {
    for (const id of cycle) {
      own.set(id, [err('dependency_cycle', 'Dependency cycle detected', `Nodes ${cycle.join(', ')} depend on each other`, { cycle })]);
    }
  }

  for (const id of reach) {
    const node = src[id];
    const def = registry.get(node.class_type)!;
    const errors = own.get(id) ?? [];
    try {
      const inputs = await checkNode(id, node, def, { prompt: src, registry, env, folders: opts.folders, comboCache }, errors);
      out[id] = { ...node, inputs };
    } catch (e) {
      errors.push(err('exception_during_validation', 'Exception when validating node', errorMessage(e), { exception_type: (e as Error)?.name ?? 'Error' }));
    }
    if (errors.length) own.set(id, errors);
  }

  // A node is valid when it and everything upstream is; invalid-only-because-of-upstream nodes are not listed.
  const valid = new Map<string, boolean>();
  const isValid = (start: string): boolean => {
    const work: [string, boolean][] = [[start, false]];
    while (work.length) {
      const [id, expanded] = work.pop()!;
      if (valid.has(id)) continue;
      const ups = upstreamIds(src, id).filter((u) => u in src);
      if (!expanded) {
        if (own.has(id)) {
          valid.set(id, false);
          continue;
        }
        work.push([id, true]);
        for (const u of ups) if (!valid.has(u)) work.push([u, false]);
      } else valid.set(id, ups.every((u) => valid.get(u) !== false));
    }
    return valid.get(start)!;
  };

  const node_errors: Record<string, NodeErrors> = {};
  const good: string[] = [];
  for (const o of outputIds) {
    if (isValid(o)) {
      good.push(o);
      continue;
    }
    for (const id of upstreamClosure(src, [o])) {
      const e = own.get(id);
      if (!e) continue;
      const entry = (node_errors[id] ??= { errors: e, dependent_outputs: [], class_type: src[id].class_type });
      entry.dependent_outputs.push(o);
    }
  }

  if (good.length === 0) {
    const details = Object.entries(node_errors)
      .map(([id, ne]) => `${ne.class_type} (#${id}):\n${ne.errors.map((e) => `- ${e.message}: ${e.details}`).join('\n')}`)
      .join('\n');
    return { ok: false, error: err('prompt_outputs_failed_validation', 'Prompt outputs failed validation', details, {}), node_errors, outputs: [], prompt: out };
  }
  return { ok: true, node_errors, outputs: good, prompt: out };
}
