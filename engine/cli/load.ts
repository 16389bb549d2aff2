import fs from 'node:fs';
import path from 'node:path';
import type { NodeRegistry } from '../graph/registry.ts';
import { WeftError } from '../errors.ts';
import { readPngText } from '../io/png.ts';
import { checkApiPrompt, looksLikeApiPrompt, type ApiPrompt } from '../workflow/api.ts';
import { uiToApi } from '../workflow/convert.ts';
import { isPlainObject, parseJson } from '../workflow/json.ts';
import { checkUiWorkflow, looksLikeUiWorkflow, type UiWorkflow } from '../workflow/ui.ts';

export interface LoadedWorkflow {
  prompt: ApiPrompt;
  /** The UI workflow when the file had one: embedded into saved PNGs as extra_pnginfo.workflow. */
  workflow?: UiWorkflow;
  format: 'api' | 'ui';
}

/**
 * Reads a workflow from a UI-format JSON, an API-format JSON, or a PNG ComfyUI (or Weft) saved,
 * converting UI graphs to the API prompt with the registry's schemas.
 */
export function loadWorkflow(file: string, registry: NodeRegistry): LoadedWorkflow {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new WeftError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { type: 'file_not_found', file });
  }
  const isPng = bytes.length > 8 && bytes.readUInt32BE(0) === 0x89504e47;
  if (isPng || path.extname(file).toLowerCase() === '.png') {
    const text = readPngText(bytes);
    // The UI workflow is preferred: converting it with our schemas gives the same prompt the UI would queue.
    if (text.workflow) {
      const wf = parseJson(text.workflow, file);
      if (looksLikeUiWorkflow(wf)) return fromUi(checkUiWorkflow(wf, file), registry, file);
    }
    if (text.prompt) return { prompt: checkApiPrompt(parseJson(text.prompt, file), file), format: 'api' };
    throw new WeftError(`${file} has no ComfyUI workflow or prompt in its metadata`, { type: 'invalid_prompt', file });
  }
  const json = parseJson(bytes.toString('utf8'), file);
  if (looksLikeApiPrompt(json)) return { prompt: checkApiPrompt(json, file), format: 'api' };
  // {"prompt": {...}} as sent to POST /prompt.
  if (isPlainObject(json) && looksLikeApiPrompt(json.prompt)) return { prompt: checkApiPrompt(json.prompt, file), format: 'api' };
  if (looksLikeUiWorkflow(json)) return fromUi(checkUiWorkflow(json, file), registry, file);
  throw new WeftError(`${file} is neither a ComfyUI workflow (UI format) nor an API prompt`, { type: 'invalid_prompt', file });
}

function fromUi(wf: UiWorkflow, registry: NodeRegistry, file: string): LoadedWorkflow {
  try {
    return { prompt: uiToApi(wf, registry), workflow: wf, format: 'ui' };
  } catch (e) {
    if (e instanceof WeftError && !e.file) throw new WeftError(`${file}: ${e.message}`, { type: e.type, nodeId: e.nodeId, classType: e.classType, input: e.input, file, extra: e.extra });
    throw e;
  }
}

/** Applies `--set <nodeId>.<input>=<value>`; the value is JSON when it parses as JSON, else a string. */
export function applySet(prompt: ApiPrompt, assignment: string): void {
  const m = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(assignment);
  if (!m) throw new WeftError(`--set expects <nodeId>.<input>=<value>, got "${assignment}"`, { type: 'usage' });
  const [, id, input, raw] = m;
  const node = prompt[id];
  if (!node) throw new WeftError(`--set ${assignment}: there is no node ${id} (nodes: ${Object.keys(prompt).join(', ')})`, { type: 'usage', nodeId: id });
  let value: unknown = raw;
  try {
    value = parseJson(raw);
  } catch {
    value = raw;
  }
  if (Array.isArray(value)) value = { __value__: value };
  node.inputs[input] = value;
}
