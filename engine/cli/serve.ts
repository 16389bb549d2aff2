import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WeftError } from '../errors.ts';
import type { EngineServices } from '../graph/context.ts';
import { DEMO_CHECKPOINT, ensureDemoCheckpoint } from '../models/demo.ts';
import { startServer } from '../server/index.ts';
import { flag, parseArgs } from './args.ts';
import { epFlag } from './ep.ts';
import { FOLDER_FLAGS, foldersFromArgs, type CliIO } from './env.ts';
import type { ServicesFactory } from './run.ts';
import type { NodeRegistry } from '../graph/registry.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const SERVE_USAGE = `weft serve [--port N] [--host H] [--token T] [--ep auto|cpu|webgpu|cuda|dml|coreml] [--static DIR] [--no-demo] [folders]
  Serves the ComfyUI-compatible HTTP/WebSocket API and the editor UI (out/renderer, built by npm start).
  With no checkpoint in the models folder, a tiny demo checkpoint ("${DEMO_CHECKPOINT}", its images are
  noise) is written so the default workflow runs offline; --no-demo turns that off.
`;

export interface ServeDeps {
  createRegistry: () => NodeRegistry;
  createServices?: ServicesFactory;
  signal?: AbortSignal;
}

/** `weft serve`: runs until the signal aborts (Ctrl-C), then closes the server and the model workers. */
export async function serveCommand(argv: readonly string[], deps: ServeDeps, io: CliIO): Promise<number> {
  const args = parseArgs(argv, ['port', 'host', 'token', 'static', 'ep', ...FOLDER_FLAGS], ['help', 'open-hint', 'no-demo']);
  if (args.bools.has('help')) {
    io.stdout.write(SERVE_USAGE);
    return 0;
  }
  const port = Number(flag(args, 'port') ?? 8188);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WeftError(`--port must be 0..65535, got ${flag(args, 'port')}`, { type: 'usage' });
  const host = flag(args, 'host') ?? '127.0.0.1';
  const folders = foldersFromArgs(args, io);
  if (!args.bools.has('no-demo') && folders.listModels('checkpoints').length === 0) {
    ensureDemoCheckpoint(folders.modelsDir);
    io.stderr.write(
      `weft serve: no checkpoint in ${folders.modelRoots('checkpoints')[0]}; wrote "${DEMO_CHECKPOINT}" so the default ` +
        `workflow runs offline (its images are noise). Get real models from the model manager.\n`,
    );
  }
  const home = io.env.WEFT_HOME ? path.resolve(io.cwd, io.env.WEFT_HOME) : io.cwd;
  const staticFlag = flag(args, 'static');
  const builtUi = path.join(REPO_ROOT, 'out', 'renderer');
  const staticDir = staticFlag ? path.resolve(io.cwd, staticFlag) : fs.existsSync(path.join(builtUi, 'index.html')) ? builtUi : undefined;
  if (!staticDir) io.stderr.write('weft serve: the editor UI is not built (npm start builds it); serving the API only.\n');
  const services: EngineServices = deps.createServices ? await deps.createServices(folders, { ep: epFlag(args) }) : { folders };
  const server = await startServer({
    registry: deps.createRegistry(),
    host,
    port,
    folders,
    services,
    queueFile: path.join(home, 'user', 'queue.json'),
    staticDir,
    token: flag(args, 'token'),
    io,
  });
  const open = server.token ? `${server.url}/?token=${encodeURIComponent(server.token)}` : `${server.url}/`;
  io.stdout.write(args.bools.has('open-hint') ? `Weft is running. Open ${open} in your browser.\n` : `${open}\n`);
  await new Promise<void>((resolve) => {
    if (deps.signal?.aborted) return resolve();
    deps.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  const models = (services as { models?: { close(): Promise<void> | void } }).models;
  await models?.close();
  return 0;
}
