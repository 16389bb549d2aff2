/**
 * What a dropped or opened file holds: a UI workflow (JSON or a PNG's `workflow` chunk) or an API
 * prompt (API JSON or a PNG with only `prompt`). Pure so the rules are unit-tested.
 */
import { looksLikeApiPrompt, type ApiPrompt } from '../../engine/workflow/api.ts';
import { checkUiWorkflow, looksLikeUiWorkflow, type UiWorkflow } from '../../engine/workflow/ui.ts';
import { isPng, readPngTextChunks } from './png-text.ts';

export type LoadedFile = { kind: 'ui'; workflow: UiWorkflow } | { kind: 'api'; prompt: ApiPrompt };

function classify(value: unknown, what: string): LoadedFile {
  if (looksLikeUiWorkflow(value)) return { kind: 'ui', workflow: checkUiWorkflow(value, what) };
  if (looksLikeApiPrompt(value)) return { kind: 'api', prompt: value };
  throw new Error(`${what} is neither a ComfyUI workflow nor an API prompt`);
}

export async function readWorkflowFile(name: string, bytes: Uint8Array): Promise<LoadedFile> {
  if (isPng(bytes)) {
    const text = await readPngTextChunks(bytes);
    if (text.workflow) return classify(JSON.parse(text.workflow), `${name} (workflow chunk)`);
    if (text.prompt) return classify(JSON.parse(text.prompt), `${name} (prompt chunk)`);
    throw new Error(`${name} has no embedded workflow`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error(`${name} is not JSON or a PNG with an embedded workflow`);
  }
  return classify(parsed, name);
}
