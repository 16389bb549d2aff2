/**
 * Hosts the engine server inside the Electron main process: 127.0.0.1, a free port, and a token
 * minted per launch, so other local processes and web pages cannot drive it; the window receives
 * the token once in its first URL and the server turns it into an HttpOnly cookie.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type WeftServer } from '../../engine/server/index.ts';
import { createRegistry } from '../../nodes/index.ts';

export interface HostedServer {
  server: WeftServer;
  origin: string;
  /** The first URL the window loads (carries the token). */
  entryUrl: string;
  folders: { output: string; input: string; models: string };
}

export async function hostServer(opts: { dataDir: string; staticDir: string; modelsDir?: string }): Promise<HostedServer> {
  const d = (name: string) => {
    const p = join(opts.dataDir, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const folders = { output: d('output'), input: d('input'), models: opts.modelsDir ?? d('models') };
  const token = randomBytes(24).toString('base64url');
  const server = await startServer({
    registry: createRegistry(),
    host: '127.0.0.1',
    port: 0,
    token,
    staticDir: opts.staticDir,
    modelsDir: folders.models,
    inputDir: folders.input,
    outputDir: folders.output,
    tempDir: d('temp'),
    queueFile: join(opts.dataDir, 'queue.json'),
  });
  const origin = new URL(server.url).origin;
  return { server, origin, entryUrl: `${origin}/?token=${encodeURIComponent(token)}`, folders };
}
