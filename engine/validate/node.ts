/** One node's checks: required inputs, links, literal types, ranges, combo lists, the node's own validate(). */
import { allInputs, isWidgetSpec, type ComboEnv, type ComboSpec, type FloatSpec, type InputSpec, type IntSpec, type NodeDef } from '../graph/node.ts';
import type { Folders } from '../graph/context.ts';
import { comboOptions, inputInfo, type NodeRegistry } from '../graph/registry.ts';
import { typesCompatible } from '../graph/sockets.ts';
import { coerceLiteral, describe, lessThan, pyList } from './coerce.ts';
import { asLink, unwrapValue, type ApiNode, type ApiPrompt } from './prompt.ts';

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

/** What checking one node needs from the prompt being validated. */
export interface CheckContext {
  prompt: ApiPrompt;
  registry: NodeRegistry;
  env: ComboEnv;
  folders: Folders | undefined;
  /** Folder-backed combo lists, listed once per validation. */
  comboCache: Map<ComboSpec, string[]>;
}

/** Without folders, dynamic combos are not checked (recognised by identity). */
export const EMPTY_ENV: ComboEnv = { listModels: () => [], listInput: () => [] };

export function err(type: string, message: string, details = '', extra_info: Record<string, unknown> = {}): PromptError {
  return { type, message, details, extra_info };
}

/** The node's own errors (pushed to `errors`); returns its inputs with literals coerced. */
export async function checkNode(id: string, node: ApiNode, def: NodeDef, ctx: CheckContext, errors: PromptError[]): Promise<Record<string, unknown>> {
  const { prompt, registry, env, folders, comboCache } = ctx;
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
