/**
 * Composition root of the weft command: the only place that joins engine/ and nodes/.
 * WEFT_NODE_MODULES (paths separated by the platform's path delimiter) names extra modules
 * exporting `nodes: NodeDef[]`, registered after the built-in ones.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from '../engine/cli/main.ts';
import type { NodeDef } from '../engine/graph/node.ts';
import { createRegistry } from '../nodes/index.ts';
import { createModelServices } from '../engine/models/sd/services.ts';

const extra: NodeDef<any, any>[] = [];
for (const mod of (process.env.WEFT_NODE_MODULES ?? '').split(path.delimiter).filter(Boolean)) {
  const m = (await import(pathToFileURL(path.resolve(mod)).href)) as { nodes?: NodeDef<any, any>[] };
  if (!Array.isArray(m.nodes)) {
    process.stderr.write(`weft: ${mod} (from WEFT_NODE_MODULES) does not export a nodes array\n`);
    process.exit(2);
  }
  extra.push(...m.nodes);
}

const abort = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nweft: interrupting…\n');
  abort.abort();
});

const code = await runCli(
  process.argv.slice(2),
  {
    createRegistry: () => createRegistry().register(...extra),
    // One model runtime per process: UNet/VAE sessions live in its worker threads.
    createServices: (folders, o) => createModelServices(folders, { ep: o?.ep as never }),
    signal: abort.signal,
  },
  { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env },
);
process.exitCode = code;
// A served process stays alive; everything else ends now even if a model worker still holds the loop.
if (process.argv[2] !== 'serve') process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
