import path from 'node:path';
import type { NodeRegistry } from '../graph/registry.ts';
import { WeftError } from '../errors.ts';
import { validatePrompt, type ValidationResult } from '../validate/index.ts';
import { stringifyJson } from '../workflow/json.ts';
import { parseArgs, type ParsedArgs } from './args.ts';
import { FOLDER_FLAGS, foldersFromArgs, type CliIO } from './env.ts';
import { applySet, loadWorkflow, type LoadedWorkflow } from './load.ts';

export const RUN_FLAGS = ['set', ...FOLDER_FLAGS] as const;

/** ComfyUI's 400 body for an error that happened before validation proper (unreadable file, unknown types…). */
export function errorBody(e: WeftError): { error: { type: string; message: string; details: string; extra_info: Record<string, unknown> }; node_errors: Record<string, unknown> } {
  return {
    error: { type: e.type, message: e.message, details: e.details ?? '', extra_info: { ...(e.file ? { file: e.file } : {}), ...(e.extra ?? {}) } },
    node_errors: {},
  };
}

export interface Prepared {
  loaded: LoadedWorkflow;
  result: ValidationResult;
}

/** Loads, applies --set, validates. Throws WeftError for files that cannot be read as workflows. */
export async function prepare(args: ParsedArgs, registry: NodeRegistry, io: CliIO): Promise<Prepared> {
  const file = args.positional[0];
  if (!file || args.positional.length > 1) throw new WeftError('expects exactly one workflow file', { type: 'usage' });
  const loaded = await loadWorkflow(path.resolve(io.cwd, file), registry);
  for (const s of args.flags.get('set') ?? []) applySet(loaded.prompt, s);
  const result = await validatePrompt(loaded.prompt, registry, { folders: foldersFromArgs(args, io) });
  return { loaded, result };
}

export function summarize(r: ValidationResult): string {
  const lines: string[] = [];
  if (r.error) lines.push(`${r.error.message}${r.error.type === 'prompt_outputs_failed_validation' ? ':' : ''}`);
  for (const [id, ne] of Object.entries(r.node_errors)) {
    for (const e of ne.errors) lines.push(`  #${id} ${ne.class_type}: ${e.message}${e.details ? ` (${e.details})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function validateCommand(argv: readonly string[], createRegistry: () => NodeRegistry, io: CliIO): Promise<number> {
  const args = parseArgs(argv, [...RUN_FLAGS], ['help']);
  if (args.bools.has('help')) {
    io.stdout.write('weft validate <workflow.json|image.png> [--set <nodeId>.<input>=<value>]... [folders]\n');
    return 0;
  }
  let prepared: Prepared;
  try {
    prepared = await prepare(args, createRegistry(), io);
  } catch (e) {
    if (!(e instanceof WeftError) || e.type === 'usage') throw e;
    io.stdout.write(`${stringifyJson(errorBody(e), 2)}\n`);
    return 2;
  }
  const r = prepared.result;
  const body = r.ok ? { error: null, node_errors: r.node_errors, outputs: r.outputs } : { error: r.error, node_errors: r.node_errors };
  io.stdout.write(`${stringifyJson(body, 2)}\n`);
  return r.ok ? 0 : 2;
}
