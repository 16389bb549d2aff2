/**
 * E2E harness: builds the renderer, starts the REAL engine server (createRegistry, temp folders) with
 * the bundle as staticDir, and one headless Debian Chromium for the whole file.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type WeftServer } from '../../../engine/server/index.ts';
import { createFolders } from '../../../engine/io/folders.ts';
import { createModelServices } from '../../../engine/models/sd/services.ts';
import { createRegistry } from '../../../nodes/index.ts';
// @ts-expect-error plain .mjs build script, no declarations
import { buildRenderer } from '../../../scripts/build-renderer.mjs';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const ARTIFACTS = join(ROOT, 'test-artifacts');

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function findChromium(env = process.env): string {
  if (env.CHROMIUM_PATH) return env.CHROMIUM_PATH;
  for (const dir of (env.PATH ?? '').split(delimiter)) for (const n of ['chromium', 'chromium-browser']) if (dir && existsSync(join(dir, n))) return join(dir, n);
  return '/usr/bin/chromium';
}

export interface Harness {
  server: WeftServer;
  browser: Browser;
  dirs: { root: string; input: string; output: string; models: string; temp: string };
  /** A fresh page on the UI with console errors collected; waits for the editor to boot. */
  open(opts?: { clearStorage?: boolean }): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Attach the real model runtime (createModelServices), as `weft serve` does. */
  models?: boolean;
  /** Fills the temp models folder before the server starts (a tiny checkpoint, the demo, …). */
  prepareModels?: (modelsDir: string) => void;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const staticDir = await buildRenderer({ outDir: mkdtempSync(join(tmpdir(), 'weft-ui-')), minify: false });
  const root = mkdtempSync(join(tmpdir(), 'weft-e2e-'));
  const dirs = { root, input: join(root, 'input'), output: join(root, 'output'), models: join(root, 'models'), temp: join(root, 'temp') };
  for (const d of [dirs.input, dirs.output, dirs.models, dirs.temp]) mkdirSync(d, { recursive: true });
  opts.prepareModels?.(dirs.models);
  const folders = createFolders({ modelsDir: dirs.models, inputDir: dirs.input, outputDir: dirs.output, tempDir: dirs.temp });
  // One ORT thread: the machine's two cores are shared with the server, the browser and other suites.
  const services = opts.models ? { ...createModelServices(folders, { threads: 1 }), modelCacheDir: dirs.temp } : { folders };
  const server = await startServer({ registry: createRegistry(), host: '127.0.0.1', port: 0, staticDir, folders, services });
  const browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: CHROMIUM_ARGS });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    server,
    browser,
    dirs,
    async open({ clearStorage = true } = {}) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(server.url + '/');
      if (clearStorage) {
        await page.evaluate(() => localStorage.clear());
        await page.reload();
      }
      await page.waitForFunction(() => (window as any).__weft?.editor?.nodeCount > 0, null, { timeout: 15_000 });
      return { page, errors };
    },
    async close() {
      await browser.close();
      await server.close();
      await (services as { models?: { close(): Promise<void> } }).models?.close();
      rmSync(root, { recursive: true, force: true });
      rmSync(staticDir, { recursive: true, force: true });
    },
  };
}
