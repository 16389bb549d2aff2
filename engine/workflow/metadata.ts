import { readFile } from 'node:fs/promises';
import { WeftError, errorMessage } from '../errors.ts';
import { readPngText } from '../io/png.ts';
import { a1111ToApi } from './a1111.ts';
import { checkApiPrompt, looksLikeApiPrompt, type ApiPrompt } from './api.ts';
import { isPlainObject, parseJson } from './json.ts';
import { checkUiWorkflow, looksLikeUiWorkflow, type UiWorkflow } from './ui.ts';
import { readWebpText } from './webp.ts';

export type WorkflowSource = 'json' | 'png' | 'webp' | 'a1111';

export interface LoadedWorkflow {
  ui?: UiWorkflow;
  api?: ApiPrompt;
  source: WorkflowSource;
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47];

function isPng(b: Uint8Array): boolean {
  return PNG_SIG.every((x, i) => b[i] === x);
}

function isWebp(b: Uint8Array): boolean {
  return b.length >= 12 && Buffer.from(b.subarray(0, 4)).toString('latin1') === 'RIFF' && Buffer.from(b.subarray(8, 12)).toString('latin1') === 'WEBP';
}

/** workflow/prompt text chunks of an image, as {workflow?, prompt?, parameters?}. */
export function readImageMetadata(bytes: Uint8Array): Record<string, string> {
  if (isPng(bytes)) return readPngText(bytes);
  if (isWebp(bytes)) return readWebpText(bytes);
  return {};
}

function fromTexts(texts: Record<string, string>, source: WorkflowSource, file?: string): LoadedWorkflow {
  const out: LoadedWorkflow = { source };
  if (texts.workflow) {
    const v = parseJson(texts.workflow, file);
    if (looksLikeUiWorkflow(v)) out.ui = checkUiWorkflow(v, file);
  }
  if (texts.prompt) {
    const v = parseJson(texts.prompt, file);
    if (looksLikeApiPrompt(v)) out.api = checkApiPrompt(v, file);
  }
  if (!out.ui && !out.api && texts.parameters) {
    const api = a1111ToApi(texts.parameters);
    if (api) return { api, source: 'a1111' };
  }
  return out;
}

/** Reads a dropped/opened file: UI or API JSON, or a PNG/WebP carrying ComfyUI or A1111 metadata. */
export function loadWorkflowBytes(bytes: Uint8Array, file?: string): LoadedWorkflow {
  if (isPng(bytes)) return fromTexts(readPngText(bytes), 'png', file);
  if (isWebp(bytes)) return fromTexts(readWebpText(bytes), 'webp', file);
  const text = Buffer.from(bytes).toString('utf8').replace(/^\uFEFF/, '');
  const v = parseJson(text, file);
  if (looksLikeUiWorkflow(v)) return { ui: checkUiWorkflow(v, file), source: 'json' };
  // A saved /prompt request body carries the prompt and the workflow side by side.
  if (isPlainObject(v) && isPlainObject(v.prompt) && looksLikeApiPrompt(v.prompt)) {
    const extra = isPlainObject(v.extra_data) && isPlainObject(v.extra_data.extra_pnginfo) ? v.extra_data.extra_pnginfo.workflow : undefined;
    return { api: checkApiPrompt(v.prompt, file), ui: looksLikeUiWorkflow(extra) ? extra : undefined, source: 'json' };
  }
  if (looksLikeApiPrompt(v)) return { api: checkApiPrompt(v, file), source: 'json' };
  throw new WeftError(`${file ?? 'input'} is neither a UI workflow nor an API prompt`, { type: 'invalid_workflow', file });
}

export async function loadWorkflowFile(pathOrBytes: string | Uint8Array): Promise<LoadedWorkflow> {
  if (typeof pathOrBytes !== 'string') return loadWorkflowBytes(pathOrBytes);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(pathOrBytes);
  } catch (e) {
    throw new WeftError(`cannot read ${pathOrBytes}: ${errorMessage(e)}`, { type: 'file_error', file: pathOrBytes });
  }
  const loaded = loadWorkflowBytes(bytes, pathOrBytes);
  if (!loaded.ui && !loaded.api) throw new WeftError(`${pathOrBytes} carries no workflow metadata`, { type: 'invalid_workflow', file: pathOrBytes });
  return loaded;
}
