import { WeftError, errorMessage } from '../errors.ts';
import type { NodeRegistry } from '../graph/registry.ts';
import { uiToApi } from '../workflow/convert.ts';
import { stringifyJson } from '../workflow/json.ts';
import { loadWorkflowFile } from '../workflow/metadata.ts';
import { apiToUi } from '../workflow/to-ui.ts';

export interface CliOut {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const USAGE = 'usage: weft convert <file.json|png|webp> --to api|ui [--fill-defaults]';

/**
 * `weft convert FILE --to api|ui`: prints the converted workflow as JSON. Exit 0 on success, 2 when the
 * file is invalid or uses node types the registry does not know (each one is named), 1 on usage errors.
 */
export async function convertCommand(argv: string[], registry: NodeRegistry, out: CliOut): Promise<number> {
  let file: string | undefined;
  let to: string | undefined;
  let fill = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--to') to = argv[++i];
    else if (a.startsWith('--to=')) to = a.slice(5);
    else if (a === '--fill-defaults') fill = true;
    else if (a === '-h' || a === '--help') {
      out.stdout(USAGE + '\n');
      return 0;
    } else if (!a.startsWith('-') && file === undefined) file = a;
    else {
      out.stderr(`unknown argument ${a}\n${USAGE}\n`);
      return 1;
    }
  }
  if (!file || (to !== 'api' && to !== 'ui')) {
    out.stderr(USAGE + '\n');
    return 1;
  }
  try {
    const loaded = await loadWorkflowFile(file);
    let result: unknown;
    if (to === 'api') {
      // The workflow is the source of truth when both are present, as when ComfyUI loads a PNG.
      result = loaded.ui ? uiToApi(loaded.ui, registry, { fillMissingWidgets: fill }) : loaded.api;
    } else {
      result = loaded.ui ?? apiToUi(loaded.api!, registry);
    }
    out.stdout(stringifyJson(result, 2) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof WeftError) {
      out.stderr(`weft convert: ${e.message}\n`);
      return 2;
    }
    out.stderr(`weft convert: ${errorMessage(e)}\n`);
    return 2;
  }
}
