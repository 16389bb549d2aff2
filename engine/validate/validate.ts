import { allInputs, isWidgetSpec, type ComboSpec, type FloatSpec, type InputSpec, type IntSpec, type NodeDef } from '../graph/node.ts';
import type { ComboEnv } from '../graph/node.ts';
import type { Folders } from '../graph/context.ts';
import { comboOptions, inputInfo, type NodeRegistry } from '../graph/registry.ts';
import { typesCompatible } from '../graph/sockets.ts';
import { errorMessage } from '../errors.ts';
import { coerceLiteral, describe, lessThan, pyList } from './coerce.ts';
import { asLink, compareIds, findCycles, unwrapValue, upstreamIds, type ApiNode, type ApiPrompt } from './prompt.ts';

/** ComfyUI's error object: every validation error has exactly these four fields. */
export interface PromptError {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

export interface NodeErrors {
  errors: PromptError[];
  dependent_outputs: string[];
  class_type: string;
}

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

const EMPTY_ENV: ComboEnv = { listModels: () => [], listInput: () => [] };

function err(type: string, message: string, details = '', extra_info: Record<string, unknown> = {}): PromptError {
  return { type, message, details, extra_info };
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
  const reach = new Set<string>();
  const stack = [...outputIds];
  while (stack.length) {
    const id = stack.pop()!;
    if (reach.has(id) || !(id in src)) continue;
    reach.add(id);
    stack.push(...upstreamIds(src, id));
  }

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
      const inputs = await checkNode(id, node, def, src, registry, env, opts.folders, comboCache, errors);
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
    for (const id of ancestorsOf(src, o)) {
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

function ancestorsOf(prompt: ApiPrompt, id: string): Set<string> {
  const seen = new Set<string>();
  const stack = [id];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n) || !(n in prompt)) continue;
    seen.add(n);
    stack.push(...upstreamIds(prompt, n));
  }
  return seen;
}

/** The node's own errors (pushed to `errors`); returns its inputs with literals coerced. */
async function checkNode(
  id: string,
  node: ApiNode,
  def: NodeDef,
  prompt: ApiPrompt,
  registry: NodeRegistry,
  env: ComboEnv,
  folders: Folders | undefined,
  comboCache: Map<ComboSpec, string[]>,
  errors: PromptError[],
): Promise<Record<string, unknown>> {
  const given = node.inputs ?? {};
  const inputs: Record<string, unknown> = { ...given };
  if (!def.run) {
    errors.push(err('node_not_implemented', `${def.name} is not implemented yet in Weft`, `Node ID '#${id}'`, { node_id: id, class_type: def.name }));
  }
  const skip = new Set(def.validates ?? []);
  const literals: Record<string, unknown> = {};
  for (const [name, spec, group] of allInputs(def)) {
    let raw = given[name];
    const config = () => inputInfo(name, spec, env);
    // Workflows saved before a widget existed (e.g. VAEEncodeForInpaint's grow_mask_by) or with no stored
    // widget values (ComfyUI's default graph's SaveImage) lack it; the frontend would show its default, so
    // the default is used rather than refusing the workflow. A linked-only input or a widget with no
    // default is still required.
    if ((raw === undefined || raw === null) && isWidgetSpec(spec) && (spec as { default?: unknown }).default !== undefined) {
      raw = (spec as { default?: unknown }).default;
    }
    if (raw === undefined || raw === null) {
      if (group === 'required') errors.push(err('required_input_missing', 'Required input is missing', name, { input_name: name }));
      continue;
    }
    if (Array.isArray(raw)) {
      const e = checkLink(name, spec, raw, prompt, registry);
      if (e) errors.push({ ...e, extra_info: { input_name: name, input_config: config(), ...e.extra_info } });
      else inputs[name] = asLink(raw);
      continue;
    }
    let value = unwrapValue(raw);
    if (!skip.has(name)) {
      const c = coerceLiteral(spec, value);
      if (!c.ok) {
        errors.push(err('invalid_input_type', `Failed to convert an input value to a ${spec.type} value`, `${name}, ${describe(value)}, ${c.message}`, {
          input_name: name,
          input_config: config(),
          received_value: value,
          exception_message: c.message,
        }));
        continue;
      }
      value = c.value;
      const rangeErr = checkRange(name, spec, value, config);
      if (rangeErr) {
        errors.push(rangeErr);
        continue;
      }
      if (spec.type === 'COMBO') {
        const dynamic = !Array.isArray((spec as ComboSpec).options);
        if (!dynamic || env !== EMPTY_ENV) {
          let list = comboCache.get(spec as ComboSpec);
          if (!list) comboCache.set(spec as ComboSpec, (list = comboOptions(spec as ComboSpec, env)));
          if (!list.includes(value as string)) {
            const long = list.length > 20;
            errors.push(err('value_not_in_list', 'Value not in list', `${name}: '${value}' not in ${long ? `(list of length ${list.length})` : pyList(list)}`, {
              input_name: name,
              input_config: long ? null : config(),
              received_value: value,
            }));
            continue;
          }
        }
      }
    }
    inputs[name] = value;
    literals[name] = value;
  }
  if (def.validate && errors.length === 0) {
    const r = await def.validate(literals, { folders: folders ?? (env as unknown as Folders) });
    if (r !== true) {
      errors.push(err('custom_validation_failed', 'Custom validation failed for node', String(r), { node_id: id }));
    }
  }
  return inputs;
}

function checkLink(name: string, spec: InputSpec, raw: unknown[], prompt: ApiPrompt, registry: NodeRegistry): PromptError | null {
  const link = asLink(raw);
  if (!link) {
    return err('bad_linked_input', 'Bad linked input, must be a length-2 list of [node_id, slot_index]', name, { received_value: raw });
  }
  const [src, slot] = link;
  const up = prompt[src];
  if (!up) return err('bad_linked_input', 'Linked node does not exist', `${name}: node ${src} is not in the prompt`, { received_value: raw, linked_node: link });
  const upDef = registry.get(up.class_type)!;
  if (slot >= upDef.outputs.length) {
    return err('bad_linked_input', 'Linked output slot does not exist', `${name}: ${up.class_type} (#${src}) has ${upDef.outputs.length} output(s), slot ${slot} requested`, {
      received_value: raw,
      linked_node: link,
    });
  }
  const received = upDef.outputs[slot].type;
  if (!typesCompatible(received, spec.type)) {
    return err('return_type_mismatch', 'Return type mismatch between linked nodes', `${name}, received_type(${received}) mismatch input_type(${spec.type})`, {
      received_type: received,
      linked_node: link,
    });
  }
  return null;
}

function checkRange(name: string, spec: InputSpec, value: unknown, config: () => unknown[]): PromptError | null {
  if (spec.type !== 'INT' && spec.type !== 'FLOAT') return null;
  const { min, max } = spec as IntSpec | FloatSpec;
  const v = value as number | bigint;
  if (typeof v === 'number' && Number.isNaN(v)) return null;
  if (min !== undefined && lessThan(v, min)) {
    return err('value_smaller_than_min', `Value ${v} smaller than min of ${min}`, name, { input_name: name, input_config: config(), received_value: value });
  }
  if (max !== undefined && lessThan(max, v)) {
    return err('value_bigger_than_max', `Value ${v} bigger than max of ${max}`, name, { input_name: name, input_config: config(), received_value: value });
  }
  return null;
}
