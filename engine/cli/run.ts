import path from 'node:path';
import type { EngineServices } from '../graph/context.ts';
import type { NodeRegistry } from '../graph/registry.ts';
import { WeftError } from '../errors.ts';
import { Executor, type RunResult } from '../execute/executor.ts';
import { stringifyJson } from '../workflow/json.ts';
import { parseArgs } from './args.ts';
import { epFlag } from './ep.ts';
import { foldersFromArgs, type CliIO } from './env.ts';
import { attachProgress } from './progress.ts';
import { errorBody, prepare, RUN_FLAGS, summarize, type Prepared } from './validate.ts';
import type { WeftFolders } from '../io/folders.ts';

/** How the CLI builds the services nodes use; the composition root may add the model runtime. */
/** Builds the node services; `ep` is the --ep setting (auto or one execution provider). */
export type ServicesFactory = (folders: WeftFolders, opts?: { ep?: string }) => EngineServices | Promise<EngineServices>;

export async function runCommand(
  argv: readonly string[],
  createRegistry: () => NodeRegistry,
  io: CliIO,
  createServices: ServicesFactory = (folders) => ({ folders }) as EngineServices,
  signal?: AbortSignal,
): Promise<number> {
  const args = parseArgs(argv, [...RUN_FLAGS, 'ep'], ['help', 'force', 'json']);
  if (args.bools.has('help')) {
    io.stdout.write('weft run <workflow.json|image.png> [--set <nodeId>.<input>=<value>]... [folders] [--force] [--json]\n');
    return 0;
  }
  const registry = createRegistry();
  let prepared: Prepared;
  try {
    prepared = await prepare(args, registry, io);
  } catch (e) {
    if (!(e instanceof WeftError) || e.type === 'usage') throw e;
    io.stdout.write(`${stringifyJson(errorBody(e), 2)}\n`);
    io.stderr.write(`weft run: ${e.message}\n`);
    return 2;
  }
  const { loaded, result } = prepared;
  if (!result.ok) {
    io.stdout.write(`${stringifyJson({ error: result.error, node_errors: result.node_errors }, 2)}\n`);
    io.stderr.write(`weft run: the workflow is not valid\n${summarize(result)}`);
    return 2;
  }
  if (Object.keys(result.node_errors).length) {
    io.stderr.write(`weft run: some outputs are skipped because they failed validation\n${summarize(result)}`);
  }

  const folders = foldersFromArgs(args, io);
  const executor = new Executor({ registry, services: await createServices(folders, { ep: epFlag(args) }) });
  const detach = attachProgress(executor.events, result.prompt, io, result.outputs);
  let run: RunResult;
  try {
    run = await executor.execute('cli', result.prompt, {
      outputs: result.outputs,
      extraPngInfo: loaded.workflow ? { workflow: loaded.workflow } : undefined,
      force: args.bools.has('force'),
      signal,
    });
  } finally {
    detach();
  }

  if (args.bools.has('json')) io.stdout.write(`${stringifyJson(run, 2)}\n`);
  else for (const f of writtenFiles(run, folders)) io.stdout.write(`${f}\n`);
  if (run.status === 'success') return 0;
  if (run.status === 'interrupted') {
    io.stderr.write('weft run: interrupted\n');
    return 1;
  }
  const e = run.error!;
  const where = e.node_id ? `node #${e.node_id} ${e.node_type}` : 'the workflow';
  io.stderr.write(`weft run: error in ${where}: ${e.exception_message}\n`);
  return 1;
}

/** Files named in output nodes' ui ({filename, subfolder, type} entries), as absolute paths. */
export function writtenFiles(run: RunResult, folders: WeftFolders): string[] {
  const out: string[] = [];
  for (const ui of Object.values(run.outputs)) {
    for (const list of Object.values(ui)) {
      for (const item of list) {
        if (!item || typeof item !== 'object') continue;
        const { filename, subfolder, type } = item as { filename?: unknown; subfolder?: unknown; type?: unknown };
        if (typeof filename !== 'string') continue;
        const base = type === 'temp' ? folders.tempDir : type === 'input' ? folders.inputDir : folders.outputDir;
        out.push(path.join(base, typeof subfolder === 'string' ? subfolder : '', filename));
      }
    }
  }
  return out;
}
