import type { NodeRegistry } from '../graph/registry.ts';
import { WeftError } from '../errors.ts';
import type { ApiPrompt } from '../workflow/api.ts';
import { uiToApi } from '../workflow/convert.ts';
import { loadWorkflowFile } from '../workflow/metadata.ts';
import { parseJson } from '../workflow/json.ts';
import type { UiWorkflow } from '../workflow/ui.ts';

export interface LoadedWorkflow {
  prompt: ApiPrompt;
  /** The UI workflow when the file had one: embedded into saved images as extra_pnginfo.workflow. */
  workflow?: UiWorkflow;
  format: 'api' | 'ui';
}

/**
 * Reads a UI- or API-format JSON, or an image carrying ComfyUI/A1111 metadata, and returns the API
 * prompt. A UI graph is preferred (converted with our schemas it gives the prompt the UI would
 * queue); the embedded API prompt is the fallback when the graph cannot be converted.
 */
export async function loadWorkflow(file: string, registry: NodeRegistry): Promise<LoadedWorkflow> {
  const loaded = await loadWorkflowFile(file);
  if (loaded.ui) {
    try {
      return { prompt: uiToApi(loaded.ui, registry), workflow: loaded.ui, format: 'ui' };
    } catch (e) {
      if (loaded.api) return { prompt: loaded.api, workflow: loaded.ui, format: 'api' };
      if (e instanceof WeftError && !e.file) {
        throw new WeftError(`${file}: ${e.message}`, { type: e.type, nodeId: e.nodeId, classType: e.classType, input: e.input, file, extra: e.extra });
      }
      throw e;
    }
  }
  if (loaded.api) return { prompt: loaded.api, format: 'api' };
  throw new WeftError(`${file} carries no workflow`, { type: 'invalid_workflow', file });
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
