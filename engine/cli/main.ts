import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NodeRegistry } from '../graph/registry.ts';
import { WeftError, errorMessage } from '../errors.ts';
import { stringifyJson } from '../workflow/json.ts';
import { parseArgs, flag, type ParsedArgs } from './args.ts';
import { FOLDER_FLAGS, foldersFromArgs, type CliIO } from './env.ts';
import { runCommand, type ServicesFactory } from './run.ts';
import { validateCommand } from './validate.ts';
import { serveCommand } from './serve.ts';

export type { CliIO } from './env.ts';

export const HELP = `weft — run ComfyUI workflows with ONNX Runtime

Usage:
  weft run <workflow.json|image.png> [--set <nodeId>.<input>=<value>]... [folders] [--force] [--json]
      Validate and run a workflow (UI or API format, or a PNG saved by ComfyUI/Weft).
      Progress goes to stderr; written files are printed on stdout.
  weft validate <workflow.json|image.png> [--set ...]... [folders]
      Print ComfyUI-shaped validation results as JSON.
  weft nodes [folders]          Print /object_info JSON for every node type.
  weft convert ...              Convert workflows between formats (see weft convert --help).
  weft serve [--port N] [--host H] [--token T] [--ep auto|cpu|webgpu|cuda|dml|coreml] [--no-demo] [folders]
      Start the ComfyUI-compatible HTTP/WebSocket server and the editor UI.
  weft --help                   Show this help.

Execution provider: --ep auto (default: a working GPU provider, never a software adapter, else CPU) or one by name.

Folders (default ./<name>, or $WEFT_HOME/<name> when WEFT_HOME is set):
  --models DIR  --input DIR  --output DIR  --temp DIR  --extra-model-paths extra_model_paths.yaml

Exit codes: 0 success, 1 runtime error, 2 invalid workflow or usage.
`;

export interface CliDeps {
  createRegistry: () => NodeRegistry;
  /** Services for nodes (folders plus, once it exists, the model runtime); default {folders}. */
  createServices?: ServicesFactory;
  /** Aborted on Ctrl-C: `weft run` interrupts the running node. */
  signal?: AbortSignal;
}

/** Entry point of the weft command; returns the exit code. The registry comes from the composition root. */
export async function runCli(argv: readonly string[], deps: CliDeps, io: CliIO): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(HELP);
        return cmd === undefined ? 2 : 0;
      case 'run':
        return await runCommand(rest, deps.createRegistry, io, deps.createServices, deps.signal);
      case 'validate':
        return await validateCommand(rest, deps.createRegistry, io);
      case 'nodes': {
        const args = parseArgs(rest, [...FOLDER_FLAGS], ['help']);
        if (args.bools.has('help')) return usage(io, 'weft nodes [folders]\n', 0);
        const folders = foldersFromArgs(args, io);
        io.stdout.write(`${stringifyJson(deps.createRegistry().objectInfo(folders), 2)}\n`);
        return 0;
      }
      case 'convert':
        return await convertDispatch(rest, deps, io);
      case 'serve':
        return await serveCommand(rest, deps, io);
      default:
        io.stderr.write(`weft: unknown command "${cmd}"\n\n${HELP}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof WeftError && e.type === 'usage') return usage(io, `weft ${cmd}: ${e.message}\n`, 2);
    io.stderr.write(`weft ${cmd}: ${e instanceof WeftError ? e.message : (e as Error)?.stack ?? errorMessage(e)}\n`);
    return e instanceof WeftError && e.type !== 'weft_error' ? 2 : 1;
  }
}

function usage(io: CliIO, text: string, code: number): number {
  (code === 0 ? io.stdout : io.stderr).write(text);
  return code;
}

/** Resolves a sibling module only if its file exists, so weft works before that part is written. */
async function optionalModule(rel: string): Promise<Record<string, unknown> | null> {
  const file = path.join(path.dirname(new URL(import.meta.url).pathname), rel);
  if (!fs.existsSync(file)) return null;
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

async function convertDispatch(argv: readonly string[], deps: CliDeps, io: CliIO): Promise<number> {
  const mod = await optionalModule('convert.ts');
  const fn = mod?.convertCommand as ((argv: string[], registry: NodeRegistry, out: { stdout: (s: string) => void; stderr: (s: string) => void }) => unknown) | undefined;
  if (!fn) {
    io.stderr.write('weft convert: not available in this build yet (engine/cli/convert.ts is missing)\n');
    return 1;
  }
  const out = { stdout: (s: string) => void io.stdout.write(s), stderr: (s: string) => void io.stderr.write(s) };
  const code = await fn([...argv], deps.createRegistry(), out);
  return typeof code === 'number' ? code : 0;
}

